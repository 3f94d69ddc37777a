//! National identifiers, MAC addresses and dates of birth: each a shape, and a checksum or a date where the
//! identifier has one. An identifier with no check digit, or a bare run of digits that many other numbers
//! share, counts only next to a word that names it.

use super::{
    after, after_a_code, before, digits, has_cue, is_word, number, one_case, stands_alone,
};
use std::ops::Range;

type Checked = Option<(Range<usize>, f32)>;

/// After a `+`, digits are a phone number's (`+48 501 832 698`), whatever a checksum says.
fn after_plus(text: &str, range: &Range<usize>) -> bool {
    before(text, range.start) == Some('+')
}

/// Neither side of the value touches a letter or a digit.
fn bounded(text: &str, range: &Range<usize>) -> bool {
    !before(text, range.start).is_some_and(is_word) && !after(text, range.end).is_some_and(is_word)
}

/// A calendar date; `year` in full.
fn valid_date(year: u32, month: u32, day: u32) -> bool {
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

// ---- United Kingdom ---------------------------------------------------------------------------------------

/// UK National Insurance number: two letters (HMRC never issues D, F, I, Q, U, V first, nor those or O
/// second, nor the prefixes BG, GB, KN, NK, NT, TN, ZZ), six digits, a suffix A to D.
pub(super) fn uk_nino(text: &str, range: Range<usize>) -> Checked {
    let value = &text[range.clone()];
    let compact: String = value
        .chars()
        .filter(|c| *c != ' ')
        .collect::<String>()
        .to_ascii_uppercase();
    let b = compact.as_bytes();
    let prefix = &compact[..2];
    let valid = !b"DFIQUV".contains(&b[0])
        && !b"DFIOQUV".contains(&b[1])
        && !["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"].contains(&prefix)
        && one_case(value);
    (valid && bounded(text, &range)).then_some((range, 0.85))
}

// ---- United States ----------------------------------------------------------------------------------------

pub(super) const ITIN_CUES: &[&str] = &["itin", "taxpayer identification", "tax id"];

/// US ITIN: 9XX-XX-XXXX whose middle group is in the IRS's ranges (50-65, 70-88, 90-92, 94-99), after a
/// word that names it: with no check digit, the shape alone is also every reference number written like an
/// SSN (`ticket 969-92-2682`).
pub(super) fn us_itin(text: &str, range: Range<usize>) -> Checked {
    let value = &text[range.clone()];
    let d = digits(value);
    let group = number(&d[3..5]);
    let in_range = matches!(group, 50..=65 | 70..=88 | 90..=92 | 94..=99);
    let cued = has_cue(text, range.start, 32, ITIN_CUES);
    (d[0] == 9 && in_range && cued && stands_alone(text, &range, &['-', ' ', '.']))
        .then_some((range, 0.95))
}

pub(super) const US_PASSPORT_CUES: &[&str] = &["passport", "travel document"];
pub(super) const UK_PASSPORT_CUES: &[&str] = &["passport"];

/// A US passport number (nine digits, or a letter and eight digits on the newer books) next to the word.
pub(super) fn us_passport(text: &str, range: Range<usize>) -> Checked {
    let cued = has_cue(text, range.start, 32, US_PASSPORT_CUES);
    (cued && bounded(text, &range) && one_case(&text[range.clone()])).then_some((range, 0.8))
}

/// A UK passport number: nine digits next to "passport" and a word that makes the passport British (`UK`,
/// `British`, `GBR`, `HMPO`, `United Kingdom`). Without one, nine digits after "passport" read as a US
/// passport's; with one, this reading is the more confident.
pub(super) fn uk_passport(text: &str, range: Range<usize>) -> Checked {
    let cued = has_cue(text, range.start, 32, UK_PASSPORT_CUES)
        && has_cue(
            text,
            range.start,
            32,
            &["uk", "british", "gbr", "hmpo", "kingdom"],
        );
    (cued && bounded(text, &range)).then_some((range, 0.9))
}

/// What names a US driver's license number, as forms and people write it.
pub(super) const DRIVER_LICENSE_CUES: &[&str] = &[
    "driver's lic",
    "driver’s lic",
    "drivers lic",
    "driver lic",
    "driving lic",
    "dl#",
    "dl #",
    "dl no",
    "dl num",
    "dl:",
    "d/l",
];

/// A US driver's license number in one of the states' formats, next to words for it: the formats have no
/// check digit, and most are just digits. Named by its label, it outranks a check digit's reading of the
/// same digits with no label (0.8: `Drivers Lic: 750 170 377` also passes a tax file number's check).
pub(super) fn us_driver_license(text: &str, range: Range<usize>) -> Checked {
    let value = &text[range.clone()];
    let enough_digits = value.bytes().filter(u8::is_ascii_digit).count() >= 5;
    let cued = has_cue(text, range.start, 32, DRIVER_LICENSE_CUES);
    (enough_digits && cued && bounded(text, &range) && one_case(value)).then_some((range, 0.85))
}

// ---- Spain ------------------------------------------------------------------------------------------------

const NIF_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

/// Spanish NIF (DNI): eight digits (seven on old cards, a leading zero dropped) and the letter the number
/// mod 23 gives.
pub(super) fn es_nif(text: &str, range: Range<usize>) -> Checked {
    let value = text[range.clone()].to_ascii_uppercase();
    let letter = *value.as_bytes().last()?;
    let d = digits(&value);
    (matches!(d.len(), 7 | 8)
        && NIF_LETTERS[(number(&d) % 23) as usize] == letter
        && bounded(text, &range))
    .then_some((range, 0.9))
}

/// Spanish NIE: X, Y or Z (0, 1, 2), seven digits, and the NIF letter of the eight-digit number.
pub(super) fn es_nie(text: &str, range: Range<usize>) -> Checked {
    let value = text[range.clone()].to_ascii_uppercase();
    let b = value.as_bytes();
    let lead = u32::from(b[0] - b'X');
    let letter = *b.last()?;
    let d = digits(&value);
    let n = lead * 10_000_000 + number(&d);
    (d.len() == 7 && NIF_LETTERS[(n % 23) as usize] == letter && bounded(text, &range))
        .then_some((range, 0.9))
}

// ---- Italy ------------------------------------------------------------------------------------------------

/// Italian codice fiscale: 16 characters whose last is a check letter over the first fifteen (odd
/// positions through the ministry's table, even ones by value). Digits may be replaced by letters
/// (omocodia: L M N P Q R S T U V for 0 to 9).
pub(super) fn it_fiscal_code(text: &str, range: Range<usize>) -> Checked {
    const ODD: [u32; 26] = [
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24,
        23,
    ];
    let value = text[range.clone()].to_ascii_uppercase();
    if !one_case(&text[range.clone()]) || !bounded(text, &range) {
        return None;
    }
    let b = value.as_bytes();
    let index = |c: u8| -> u32 {
        match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            _ => u32::from(c - b'A'),
        }
    };
    let sum: u32 = b[..15]
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if i % 2 == 0 {
                ODD[index(c) as usize]
            } else {
                index(c)
            }
        })
        .sum();
    (b[15] == b'A' + (sum % 26) as u8).then_some((range, 0.95))
}

// ---- India ------------------------------------------------------------------------------------------------

/// Verhoeff's dihedral-group check: true when `d` (check digit last) is valid.
fn verhoeff(d: &[u8]) -> bool {
    const MUL: [[u8; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const PERM: [[u8; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    let mut c = 0u8;
    for (i, &digit) in d.iter().rev().enumerate() {
        c = MUL[c as usize][PERM[i % 8][digit as usize] as usize];
    }
    c == 0
}

const AADHAAR_CUES: &[&str] = &["aadhaar", "aadhar", "uidai"];

/// Aadhaar: twelve digits not starting 0 or 1 (the pattern's), grouped 4-4-4 and Verhoeff-valid; or under
/// its name (twelve bare digits are too common otherwise), whatever their check digit: mistyped, or from a
/// generator that checks them with Luhn, as Faker does. Under its name it outranks the card a Luhn-valid
/// twelve digits can also be.
pub(super) fn in_aadhaar(text: &str, range: Range<usize>) -> Checked {
    let value = &text[range.clone()];
    let d = digits(value);
    let grouped = value.len() == 14;
    let cued = has_cue(text, range.start, 32, AADHAAR_CUES);
    // Without its name, not the end of a reference such as `CLM-2026-0042-7781`: a tenth of any twelve
    // digits pass Verhoeff.
    let uncued = grouped && verhoeff(&d) && !after_a_code(text, range.start);
    ((uncued || cued) && stands_alone(text, &range, &['-', ' ', '.']))
        .then_some((range, if cued { 0.97 } else { 0.85 }))
}

/// Indian PAN: five letters (the fourth says who holds it: P a person, C a company …), four digits, a
/// letter; capitals only, as issued.
pub(super) fn in_pan(text: &str, range: Range<usize>) -> Checked {
    let cued = has_cue(text, range.start, 32, &["pan", "permanent account"]);
    bounded(text, &range).then_some((range, if cued { 0.95 } else { 0.7 }))
}

// ---- Australia --------------------------------------------------------------------------------------------

fn weighted(d: &[u8], weights: &[u32]) -> u32 {
    d.iter().zip(weights).map(|(&x, &w)| u32::from(x) * w).sum()
}

/// Tax File Number: nine digits whose weighted sum is divisible by 11; grouped 3-3-3 or after "TFN".
pub(super) fn au_tfn(text: &str, range: Range<usize>) -> Checked {
    let value = &text[range.clone()];
    if after_plus(text, &range) {
        return None;
    }
    let d = digits(value);
    let valid = weighted(&d, &[1, 4, 3, 7, 5, 8, 6, 9, 10]).is_multiple_of(11);
    let cued = has_cue(text, range.start, 32, &["tfn", "tax file"]);
    // Nine digits 3-3-3 are also a phone number in Spain and elsewhere: one in eleven passes the check, so
    // next to a word for a phone, that reading wins.
    let grouped = value.len() == 11 && !super::word_cue(text, range.start, 24, super::PHONE_CUES);
    (valid && (grouped || cued) && stands_alone(text, &range, &['-', ' ', '.']))
        .then_some((range, if cued { 0.95 } else { 0.8 }))
}

/// Australian Business Number: eleven digits, the first less one, weighted, divisible by 89; grouped
/// 2-3-3-3 or after "ABN".
pub(super) fn au_abn(text: &str, range: Range<usize>) -> Checked {
    let value = &text[range.clone()];
    if after_plus(text, &range) {
        return None;
    }
    let mut d = digits(value);
    if d[0] == 0 {
        return None;
    }
    d[0] -= 1;
    let valid = weighted(&d, &[10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19]).is_multiple_of(89);
    let cued = has_cue(text, range.start, 32, &["abn", "business number"]);
    (valid && (value.len() == 14 || cued) && stands_alone(text, &range, &['-', ' ', '.']))
        .then_some((range, if cued { 0.95 } else { 0.8 }))
}

/// Medicare card number: ten digits (an eleventh, the card's issue number, may follow), the first 2 to 6,
/// the ninth a weighted check of the eight before it; grouped 4-5-1 or after "Medicare".
pub(super) fn au_medicare(text: &str, range: Range<usize>) -> Checked {
    let value = &text[range.clone()];
    if after_plus(text, &range) {
        return None;
    }
    let d = digits(value);
    let valid = (2..=6).contains(&d[0])
        && weighted(&d[..8], &[1, 3, 7, 9, 1, 3, 7, 9]) % 10 == u32::from(d[8]);
    let cued = has_cue(text, range.start, 32, &["medicare"]);
    (valid && (value.contains(' ') || cued) && stands_alone(text, &range, &['-', ' ', '.']))
        .then_some((range, if cued { 0.95 } else { 0.8 }))
}

// ---- Singapore, Poland, Korea, Finland, Germany ----------------------------------------------------------

/// Singapore NRIC/FIN: S, T, F, G or M, seven digits, and the check letter of their weighted sum. The M
/// series (FINs issued since 2022) counts with its own offset and letters.
pub(super) fn sg_nric(text: &str, range: Range<usize>) -> Checked {
    let value = text[range.clone()].to_ascii_uppercase();
    if !one_case(&text[range.clone()]) || !bounded(text, &range) {
        return None;
    }
    let b = value.as_bytes();
    let sum = weighted(&digits(&value), &[2, 7, 6, 5, 4, 3, 2]);
    let check = match b[0] {
        b'S' => b"JZIHGFEDCBA"[(sum % 11) as usize],
        b'T' => b"JZIHGFEDCBA"[((sum + 4) % 11) as usize],
        b'F' => b"XWUTRQPNMLK"[(sum % 11) as usize],
        b'G' => b"XWUTRQPNMLK"[((sum + 4) % 11) as usize],
        b'M' => b"XWUTRQPNJLK"[((sum + 3) % 11) as usize],
        _ => return None,
    };
    (b[8] == check).then_some((range, 0.9))
}

pub(super) const PESEL_CUES: &[&str] = &["pesel"];

/// PESEL: eleven digits, a birth date (the month carries the century: +20 for the 2000s …) and a weighted
/// check digit; eleven bare digits are common, so only after a word that names it.
pub(super) fn pl_pesel(text: &str, range: Range<usize>) -> Checked {
    let d = digits(&text[range.clone()]);
    let check = (10 - weighted(&d, &[1, 3, 7, 9, 1, 3, 7, 9, 1, 3]) % 10) % 10;
    let (yy, mm, dd) = (number(&d[0..2]), number(&d[2..4]), number(&d[4..6]));
    let (century, month) = match mm {
        1..=12 => (1900, mm),
        21..=32 => (2000, mm - 20),
        41..=52 => (2100, mm - 40),
        61..=72 => (2200, mm - 60),
        81..=92 => (1800, mm - 80),
        _ => return None,
    };
    let cued = has_cue(text, range.start, 32, PESEL_CUES);
    (cued
        && check == u32::from(d[10])
        && valid_date(century + yy, month, dd)
        && stands_alone(text, &range, &['-', ' ', '.']))
    .then_some((range, 0.95))
}

/// Korean resident registration number: a birth date (YYMMDD), a dash, a digit for sex and century (1 to
/// 4 for citizens, 5 to 8 for foreign residents), six more, the last a weighted check digit — for numbers
/// issued before October 2020; since then the last six are random, so only the date is checked.
pub(super) fn kr_rrn(text: &str, range: Range<usize>) -> Checked {
    let value = &text[range.clone()];
    let d = digits(value);
    let century = match d[6] {
        1 | 2 | 5 | 6 => 1900,
        3 | 4 | 7 | 8 => 2000,
        _ => return None,
    };
    let year = century + number(&d[0..2]);
    let (month, day) = (number(&d[2..4]), number(&d[4..6]));
    let check = (11 - weighted(&d[..12], &[2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]) % 11) % 10;
    let random_tail = (year, month) >= (2020, 10);
    let cued = has_cue(
        text,
        range.start,
        32,
        &["rrn", "resident registration", "주민등록"],
    );
    // Numbers issued since October 2020 end in random digits, whatever the birth year (a new number after
    // a leak, a naturalisation): under a word that names it, a valid date and sex digit are enough.
    let checked = random_tail || check == u32::from(d[12]);
    (valid_date(year, month, day)
        && (checked || cued)
        && (value.contains('-') || cued)
        && stands_alone(text, &range, &['-', ' ', '.']))
    .then_some((range, if cued { 0.95 } else { 0.85 }))
}

/// Finnish personal identity code (henkilötunnus): DDMMYY, a century sign, three digits and the check
/// character of the nine-digit number mod 31.
pub(super) fn fi_hetu(text: &str, range: Range<usize>) -> Checked {
    const CHECK: &[u8; 31] = b"0123456789ABCDEFHJKLMNPRSTUVWXY";
    let value = text[range.clone()].to_ascii_uppercase();
    let b = value.as_bytes();
    let century = match b[6] {
        b'+' => 1800,
        b'-' | b'Y' | b'X' | b'W' | b'V' | b'U' => 1900,
        b'A'..=b'F' => 2000,
        _ => return None,
    };
    let d = digits(&value[..10]);
    let date = valid_date(
        century + number(&d[4..6]),
        number(&d[2..4]),
        number(&d[0..2]),
    );
    let n = number(&d[0..6]) * 1000 + number(&d[6..9]);
    (date && CHECK[(n % 31) as usize] == b[10] && bounded(text, &range)).then_some((range, 0.95))
}

/// German tax identification number (Steuer-IdNr): eleven digits, the first not 0, one digit of the first
/// ten appearing twice or three times, and an ISO 7064 MOD 11,10 check digit; only after a word that names
/// it or grouped 2-3-3-3.
pub(super) fn de_tax_id(text: &str, range: Range<usize>) -> Checked {
    let value = &text[range.clone()];
    if after_plus(text, &range) {
        return None;
    }
    let d = digits(value);
    let mut counts = [0u8; 10];
    for &x in &d[..10] {
        counts[x as usize] += 1;
    }
    let repeated =
        counts.iter().filter(|&&c| c >= 2).count() == 1 && counts.iter().all(|&c| c <= 3);
    let mut product = 10u32;
    for &x in &d[..10] {
        let mut sum = (u32::from(x) + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    let check = (11 - product) % 10;
    let cued = has_cue(
        text,
        range.start,
        40,
        &["steuer", "tax id", "idnr", "id nr", "identifikationsnummer"],
    );
    // Named as one, the check digit is enough (documentation's `12345678903` breaks the digit rule).
    (d[0] != 0
        && (repeated || cued)
        && check == u32::from(d[10])
        && (cued || value.len() == 14)
        && stands_alone(text, &range, &['-', ' ', '.', '/']))
    .then_some((range, if cued { 0.95 } else { 0.8 }))
}

// ---- MAC addresses and dates of birth --------------------------------------------------------------------

/// A MAC address: six hex pairs with one kind of separator, or Cisco's three dotted quads, in any case;
/// not all one byte (`00:00:00:00:00:00`, `ff:ff:ff:ff:ff:ff` name no device).
pub(super) fn mac_address(text: &str, range: Range<usize>) -> Checked {
    let value = &text[range.clone()];
    let separators: Vec<char> = value.chars().filter(|c| !c.is_ascii_hexdigit()).collect();
    let hex: Vec<u8> = value.bytes().filter(u8::is_ascii_hexdigit).collect();
    let same = hex.iter().all(|b| b.eq_ignore_ascii_case(&hex[0]));
    // `4929.1234.5678.9015` is not a Cisco-style MAC followed by a full stop: a dot with a hex digit
    // beyond it goes on.
    let hex = |c: Option<char>| c.is_some_and(|c| c.is_ascii_hexdigit());
    let dot_before =
        text[..range.start].ends_with('.') && hex(text[..range.start - 1].chars().next_back());
    let dot_after = text[range.end..].starts_with('.') && hex(text[range.end + 1..].chars().next());
    let before_ok = !(before(text, range.start)
        .is_some_and(|c| is_word(c) || c == ':' || c == '-')
        || dot_before);
    let after_ok =
        !(after(text, range.end).is_some_and(|c| is_word(c) || c == ':' || c == '-') || dot_after);
    (separators.windows(2).all(|w| w[0] == w[1]) && !same && before_ok && after_ok)
        .then_some((range, 0.85))
}

/// How each month's name starts in the languages of [`BIRTH_CUES`] (English, German, Dutch, French,
/// Spanish, Portuguese, Italian, Russian), lowercase: `15 de abril de 1982`, `12. März 1985`, `3 juillet
/// 1990`, `12 марта 1985`. Japanese, Chinese and Korean write numbers (`1985年3月12日`).
/// No two share a start: `juin` and `juil` both begin `jui`, so neither is cut to it.
#[rustfmt::skip]
pub(super) const MONTHS: [(&str, u32); 50] = [
    ("jan", 1), ("ene", 1), ("gen", 1), ("янв", 1),
    ("feb", 2), ("fév", 2), ("fev", 2), ("фев", 2),
    ("mar", 3), ("mär", 3), ("maa", 3), ("мар", 3),
    ("apr", 4), ("abr", 4), ("avr", 4), ("апр", 4),
    ("may", 5), ("mai", 5), ("mag", 5), ("mei", 5), ("мая", 5), ("май", 5),
    ("jun", 6), ("juin", 6), ("giu", 6), ("июн", 6),
    ("jul", 7), ("juil", 7), ("lug", 7), ("июл", 7),
    ("aug", 8), ("ago", 8), ("aoû", 8), ("aou", 8), ("авг", 8),
    ("sep", 9), ("set", 9), ("сен", 9),
    ("oct", 10), ("okt", 10), ("ott", 10), ("out", 10), ("окт", 10),
    ("nov", 11), ("ноя", 11),
    ("dec", 12), ("déc", 12), ("dez", 12), ("dic", 12), ("дек", 12),
];

/// The words before a date that make it a date of birth.
pub(super) const BIRTH_CUES: &[&str] = &[
    "date of birth",
    "birth date",
    "birthdate",
    "birthday",
    "born on",
    "born",
    "dob",
    "d o b",
    "geburtsdatum",
    "geb datum",
    "geboren am",
    "geb am",
    "geboortedatum",
    "data de nascimento",
    "data urodzenia",
    "födelsedatum",
    "fødselsdato",
    "fecha de nacimiento",
    "date de naissance",
    "né le",
    "née le",
    "data di nascita",
    "nato il",
    "nata il",
    "nació el",
    "nacido el",
    "nacida el",
    "nascido em",
    "nascida em",
    "geboren op",
    // Japanese, Chinese, Korean; Russian `дата рождения` and `день рождения` by their shared word
    // (the whole phrase is more than the cue window's 24 bytes), `родился`/`родилась` (was born).
    "生年月日",
    "出生日期",
    "생년월일",
    "рождения",
    "родился",
    "родилась",
];

/// A date right after a word that makes it a date of birth (`DOB: 1985-03-12`, `born on 12 March 1985`,
/// `Date of birth 03/12/1985`): a real calendar date from 1900 on.
pub(super) fn date_of_birth(text: &str, range: Range<usize>) -> Checked {
    let value = text[range.clone()].to_lowercase();
    let nums: Vec<u32> = value
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap_or(0))
        .collect();
    // The words around it (`th`, `of`, `de`, `er`) start no month's name.
    let month_word = value.split(|c: char| !c.is_alphabetic()).find_map(|word| {
        MONTHS
            .iter()
            .find(|(start, _)| word.starts_with(start))
            .map(|&(_, month)| month)
    });
    let real = match (month_word, nums.as_slice()) {
        (Some(month), [day, year]) | (Some(month), [year, day]) if *year >= 1900 => {
            valid_date(*year, month, *day)
        }
        (None, [year, month, day]) if *year >= 1900 => valid_date(*year, *month, *day),
        // Day first or month first: either reading a real date is enough, as a DOB is either way.
        (None, [a, b, year]) if *year >= 1900 => {
            valid_date(*year, *b, *a) || valid_date(*year, *a, *b)
        }
        // Forms write the year in two digits (`DOB: 4/15/82`): up to 30 read as this century (`07` is
        // 2007), the rest as the last (`82` is 1982), so leap days fall in the right years.
        (None, [a, b, yy]) if *yy < 100 => {
            let year = if *yy <= 30 { 2000 + yy } else { 1900 + yy };
            valid_date(year, *b, *a) || valid_date(year, *a, *b)
        }
        _ => false,
    };
    let cued = has_cue(text, range.start, 24, BIRTH_CUES);
    (real && cued && bounded(text, &range) && nums.iter().all(|&n| n <= 2100))
        .then_some((range, 0.9))
}
