//! Street addresses, by rules: the model has no label for them (it calls "742 Evergreen Terrace" an
//! organisation). A street line in the forms of the US, Canada, the UK and Ireland, Australia, Germany,
//! Austria and Switzerland, the Netherlands, France, Spain, Italy and Portugal and Brazil, with its unit,
//! and the town, region and postcode that follow it; the model's places inside the span become part of
//! the one ADDRESS.

use regex::Regex;

/// An address: byte range in the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    pub start: usize,
    pub end: usize,
}

pub(crate) struct Addresses {
    /// Street lines, each form its own pattern.
    streets: Vec<Regex>,
    /// What may follow a street line: a unit, a town, a region, a postcode (one at a time).
    tail: Regex,
}

/// A capitalised word of a street or town name (letters, inner hyphens and apostrophes).
const WORD: &str = r"\p{Lu}[\p{L}'’-]*\.?";
/// A word of a town's name: capitalised, then lower case, so "London NW1" stops before the postcode.
const TOWN: &str = r"\p{Lu}\p{Ll}[\p{L}'’-]*";
const NUMBER: &str = r"\d{1,5}(?:[-–/]\d{1,5})?[A-Za-z]?(?:\s?(?:bis|ter))?";

/// USPS Publication 28's street suffixes (the standard US addresses are written to), with their common
/// abbreviations, and the British and Australian ones it lacks.
const EN_SUFFIXES: &str = "Street|Streets|St|Avenue|Ave|Av|Road|Roads|Rd|Boulevard|Blvd|Lane|Ln|Drive|Drives|Dr|\
    Court|Courts|Ct|Place|Pl|Terrace|Terr|Way|Ways|Square|Squares|Sq|Parkway|Pkwy|Highway|Hwy|Circle|Circles|Cir|\
    Crescent|Cres|Close|Grove|Groves|Gardens|Gdns|Row|Mews|Hill|Hills|Trail|Trl|Alley|Aly|Plaza|Plz|Walk|Parade|\
    Quay|Wharf|Green|Rise|View|Views|Park|Parks|Esplanade|Broadway|Expressway|Expy|Freeway|Fwy|Turnpike|Pike|\
    Loop|Path|Point|Points|Ridge|Ridges|Heights|Hts|Gate|Gateway|Yard|Hollow|Crossing|Crossroad|Junction|Center|\
    Centre|Centers|Bayou|Beach|Bend|Bluff|Bluffs|Bottom|Branch|Bridge|Brook|Brooks|Burg|Burgs|Bypass|Camp|Canyon|\
    Cape|Causeway|Cliff|Cliffs|Club|Common|Commons|Corner|Corners|Course|Cove|Coves|Creek|Crest|Curve|Dale|Dam|\
    Divide|Estate|Estates|Extension|Falls|Ferry|Field|Fields|Flat|Flats|Ford|Fords|Forest|Forge|Forges|Fork|Forks|\
    Fort|Garden|Glen|Glens|Harbor|Harbors|Haven|Island|Islands|Isle|Key|Keys|Knoll|Knolls|Lake|Lakes|Landing|\
    Light|Lights|Lock|Locks|Lodge|Manor|Manors|Meadow|Meadows|Mill|Mills|Mission|Motorway|Mount|Mountain|Mountains|\
    Neck|Orchard|Oval|Overpass|Pass|Passage|Pine|Pines|Plain|Plains|Port|Ports|Prairie|Radial|Ramp|Ranch|Rapid|\
    Rapids|Rest|Route|Run|Shoal|Shoals|Shore|Shores|Skyway|Spring|Springs|Spur|Spurs|Station|Stravenue|Stream|\
    Summit|Throughway|Trace|Track|Trafficway|Tunnel|Underpass|Union|Unions|Valley|Valleys|Viaduct|Villa|Village|\
    Villages|Ville|Vista|Well|Wells";
/// Street names that end in their type, from German to Finnish. Not "ring", "park" or "hof": "Spring 2025"
/// is not an address.
const GERMANIC_SUFFIXES: &str = "straße|strasse|str\\.|weg|gasse|allee|platz|damm|ufer|chaussee|steig|\
    pfad|gracht|laan|plein|kade|singel|dijk|straat|steeg|vej|gade|stræde|plads|gatan|vägen|gränd|stigen|torget|\
    backen|veien|gata|løkka|stien|bakken|katu|tie|polku|kuja|tori|utca";
/// Street types written before the name, with the number after it: Romance languages, and Indonesian,
/// Romanian, Polish and Turkish ones.
const ROMANCE_TYPES_CAPITALISED: &str = "Rue|Avenue|Boulevard|Place|Chemin|Allée|Impasse|Quai|Route|Calle|C/|\
    Avenida|Avda\\.?|Av\\.|Paseo|Plaza|Plaça|Carrer|Camino|Carretera|Ronda|Rambla|Calzada|Callejón|Circuito|Cerrada|\
    Privada|Prolongación|Viaducto|Via|Viale|Piazza|Corso|Largo|Vicolo|Strada|Contrada|Borgo|Rotonda|Rua|Travessa|\
    Praça|Alameda|Estrada|Rodovia|Ladeira|Vila|Quadra|Jalan|Jl\\.|Gang|Gg\\.|Calea|Bulevardul|Aleea|Șoseaua|\
    Soseaua|Drumul|Intrarea|Splaiul|Ulica|ul\\.|Aleja|al\\.|Plac|Cadde(?:si)?|Sokak|Sokağı|Mahallesi";
const PARTICLES: &str =
    "(?i:de la|de l'|del|de los|de las|de|du|des|d'|dei|della|delle|do|da|dos|das)";
const ROMANCE_TYPES: &str =
    "rue|avenue|av\\.|boulevard|bd|place|chemin|allée|impasse|quai|route|cours|\
    calle|c/|avenida|avda\\.?|paseo|plaza|plaça|carrer|camino|carretera|ronda|travesía|\
    via|viale|piazza|corso|largo|vicolo|strada|rua|travessa|praça|alameda|estrada|rodovia";

impl Addresses {
    pub fn new() -> Addresses {
        let compile = |p: &str| Regex::new(p).unwrap_or_else(|e| panic!("a built-in pattern: {e}"));
        let unit = r"(?:(?:,\s*|\s+)(?i:apt\.?|apartment|suite|ste\.?|unit|flat|floor|fl\.?|room|rm\.?|bldg\.?|building|#)\s*[\w-]{1,6})?";
        let direction = r"(?:\s+(?:NW|NE|SW|SE|N|S|E|W)\b\.?)?";
        let streets = [
            // 742 Evergreen Terrace, 1600 Pennsylvania Ave. NW, 350 Fifth Avenue, Suite 7200, 221B Baker St
            format!(
                r"\b{NUMBER},?\s+(?:(?:{WORD}|\d+(?:st|nd|rd|th))\s+){{1,4}}(?:{EN_SUFFIXES})\b\.?{direction}{unit}"
            ),
            // Flat 4, 10 Downing St (a unit first)
            format!(
                r"\b(?i:flat|apartment|apt\.?|unit|suite)\s+[\w-]{{1,6}},\s+{NUMBER}\s+(?:{WORD}\s+){{0,3}}(?:{EN_SUFFIXES})\b\.?"
            ),
            // Hauptstraße 5, Keizersgracht 123-2, Agnes-Wesack-Straße 26-83
            format!(r"\b(?:{WORD}[ -])?\p{{Lu}}[\p{{L}}-]*(?i:{GERMANIC_SUFFIXES})\s+{NUMBER}\b"),
            // 12 rue de la Paix, 5 bis avenue Victor Hugo (the number first)
            format!(
                r"\b{NUMBER},?\s+(?i:{ROMANCE_TYPES})\s+(?:{PARTICLES}\s*)?(?:{WORD}\s+){{0,3}}{WORD}"
            ),
            // Calle de Alcalá 45, 2º; Via Roma 3; Rua Augusta, 100 (the type capitalised, the number after)
            format!(
                r"\b(?:{ROMANCE_TYPES_CAPITALISED})\s+(?:{PARTICLES}\s*)?(?:{WORD}\s+){{0,3}}{WORD},?\s+(?:(?i:n[º°o]|nr|no|nº)\.?\s*)?{NUMBER}\b(?:,\s*\d+º(?:\s*[A-Z]\b)?)?"
            ),
            // PO Box 1234, Postfach 10 20 30, Apartado de Correos 456, Caixa Postal 12: a postal
            // address with no street, the town and postcode after it as after a street line.
            r"\b(?i:p\.?\s?o\.?\s?box|post\s+office\s+box|postfach|apartado(?:\s+de\s+correos)?|caixa\s+postal)\s+\d{1,6}(?:\s\d{2}){0,2}\b".to_string(),
        ];
        let streets = streets.iter().map(|p| compile(p)).collect();
        // ", Springfield", ", IL 62704", " 75001 Paris", ", NW1 6XE", ", ON M5H 2N2", ", 28014 Madrid",
        // "\n10115 Berlin"
        // On the same line: a town (and its postcode), a region, a postcode. On the next line only a
        // postcode and town ("10115 Berlin"), so a form's next field is not taken in.
        let postcode_town =
            format!(r"\d{{4,6}}(?:-\d{{3,4}})?(?:\s+[A-Z]{{2}})?\s+{TOWN}(?:\s+{TOWN}){{0,2}}");
        let tail = compile(&format!(
            r"^(?:(?:,?[ \t]{{1,2}})(?:{postcode_town}|[A-Z]{{1,2}}\d[A-Z\d]?\s?\d[A-Z]{{2}}|(?:[A-Z]{{2}}\s+)?[A-Z]\d[A-Z]\s?\d[A-Z]\d|[A-Z]{{2,3}}\s+\d{{4,6}}(?:-\d{{4}})?|{TOWN}(?:\s+{TOWN}){{0,2}}(?:\s+\d{{4,6}}(?:-\d{{3,4}})?(?:\s[A-Z]{{2}}\b)?)?)|,?\r?\n[ \t]*{postcode_town})"
        ));
        Addresses { streets, tail }
    }

    /// The addresses in `text`, each a street line with what follows it, not overlapping.
    pub fn find(&self, text: &str) -> Vec<Address> {
        let mut found: Vec<Address> = Vec::new();
        for street in &self.streets {
            for m in street.find_iter(text) {
                let mut end = m.end();
                // A town, a region, a postcode: up to three, each after a comma, space or line break.
                for _ in 0..3 {
                    match self.tail.find(&text[end..]) {
                        Some(t) if t.end() > 0 => end += t.end(),
                        _ => break,
                    }
                }
                found.push(Address {
                    start: m.start(),
                    end,
                });
            }
        }
        // Longest first where they overlap.
        found.sort_by_key(|a| (a.start, std::cmp::Reverse(a.end)));
        let mut out: Vec<Address> = Vec::new();
        for a in found {
            match out.last_mut() {
                Some(last) if a.start < last.end => last.end = last.end.max(a.end),
                _ => out.push(a),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<&str> {
        Addresses::new()
            .find(text)
            .into_iter()
            .map(|a| &text[a.start..a.end])
            .collect()
    }

    #[test]
    fn street_lines_of_many_countries() {
        for (text, address) in [
            (
                "I live at 742 Evergreen Terrace, Springfield, IL 62704.",
                "742 Evergreen Terrace, Springfield, IL 62704",
            ),
            (
                "Send it to 1600 Pennsylvania Ave. NW, Washington, DC 20500 please",
                "1600 Pennsylvania Ave. NW, Washington, DC 20500",
            ),
            (
                "office: 350 Fifth Avenue, Suite 7200, New York, NY 10118",
                "350 Fifth Avenue, Suite 7200, New York, NY 10118",
            ),
            (
                "221B Baker Street, London NW1 6XE",
                "221B Baker Street, London NW1 6XE",
            ),
            (
                "Flat 4, 10 Downing St, London",
                "Flat 4, 10 Downing St, London",
            ),
            (
                "100 Queen Street West, Toronto, ON M5H 2N2",
                "100 Queen Street West, Toronto, ON M5H 2N2",
            ),
            (
                "Lieferadresse: Hauptstraße 5, 10115 Berlin",
                "Hauptstraße 5, 10115 Berlin",
            ),
            (
                "Keizersgracht 123, 1015 CJ Amsterdam",
                "Keizersgracht 123, 1015 CJ Amsterdam",
            ),
            (
                "au 12 rue de la Paix, 75002 Paris.",
                "12 rue de la Paix, 75002 Paris",
            ),
            (
                "Calle de Alcalá 45, 2º, 28014 Madrid",
                "Calle de Alcalá 45, 2º, 28014 Madrid",
            ),
            ("in Via Roma 3, 10121 Torino", "Via Roma 3, 10121 Torino"),
            ("Rua Augusta, 100, Lisboa", "Rua Augusta, 100, Lisboa"),
            (
                "Keizersgracht 830, Amsterdam 1015 CJ",
                "Keizersgracht 830, Amsterdam 1015 CJ",
            ),
            (
                "Address: 1021 Marina Road, Lagos 101241\nCountry of birth: Ghana",
                "1021 Marina Road, Lagos 101241",
            ),
            (
                "SHIP TO:\nAnna Berg\nJalan Sadang Serang No. 7\n21951 Palu\n",
                "Jalan Sadang Serang No. 7\n21951 Palu",
            ),
            (
                "PO Box 1234, Austin, TX 78701",
                "PO Box 1234, Austin, TX 78701",
            ),
            (
                "Postfach 10 20 30, 10115 Berlin",
                "Postfach 10 20 30, 10115 Berlin",
            ),
            ("Av. Paulista, 1578 - Bela Vista", "Av. Paulista, 1578"),
        ] {
            assert_eq!(found(text), [address], "{text}");
        }
    }

    #[test]
    fn numbers_and_words_that_are_not_addresses() {
        for text in [
            "We shipped 40 units on Monday.",
            "The 3 Musketeers went to the park.",
            "Version 2.1 fixes the login bug.",
            "Call 555-0100 before 5pm.",
            "Chapter 12 covers the street-level view.",
            "In Spring 2025 we shipped 3 releases.",
            "Name: Anna\nCountry: Kenya",
            "the box 12 was empty",
            "a popbox 12 item",
        ] {
            assert!(found(text).is_empty(), "{text}: {:?}", found(text));
        }
    }
}
