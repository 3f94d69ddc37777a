//! The rules: a regex per credential shape, and validators that keep real credentials only.

use base64::Engine as _;
use palisade_sdk::keywords::{KeywordGate, Needs};
use palisade_sdk::normalize::{Folds, Normalized, FOLD_BYTES};
use regex::Regex;
use regex_syntax::hir::literal::Extractor;
use std::ops::Range;
use std::sync::LazyLock;

/// One credential found in a text.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit<'d> {
    /// The rule id (without the `secret.` prefix).
    pub rule: &'d str,
    /// What kind of credential, for people.
    pub description: &'d str,
    /// UTF-8 byte range into the inspected text.
    pub range: Range<usize>,
    pub confidence: f32,
    /// How the value was written to evade detection, if it was (see `palisade_sdk::normalize`).
    pub evasion: Folds,
}

/// A team's own rule, from the plugin's config. A `secret` capture group, if the pattern has one, narrows
/// what is reported to the value.
#[derive(Clone, Debug)]
pub struct CustomRule {
    pub id: String,
    pub description: String,
    pub pattern: Regex,
    pub confidence: f32,
    /// Shannon entropy (bits per character) the value must reach; 0 accepts any value.
    pub min_entropy: f64,
}

/// Decides whether a candidate is real; may narrow its range.
type Validator = fn(&str, Range<usize>) -> Option<Range<usize>>;

/// From one match, every value it points to: a table's column from its header cell.
type Expander = fn(&str, Range<usize>) -> Vec<Range<usize>>;

enum Check {
    Builtin(Validator),
    Column(Expander),
    Custom { min_entropy: f64 },
}

struct Rule {
    id: String,
    description: String,
    pattern: Regex,
    confidence: f32,
    check: Check,
    /// What every hit of this rule contains: the pattern's own prefixes, or words written by hand.
    needs: Needs,
}

impl Rule {
    /// A rule whose pattern starts with no literal still has words it cannot match without.
    fn needing(mut self, keywords: &[&str]) -> Rule {
        self.needs = Needs {
            words: keywords.iter().map(|k| k.as_bytes().to_vec()).collect(),
            any_case: true,
        };
        self
    }

    /// [`Rule::needing`] words that count only as written.
    fn needing_exactly(mut self, keywords: &[&str]) -> Rule {
        self = self.needing(keywords);
        self.needs.any_case = false;
        self
    }
}

/// The configured rules. Building it compiles the regexes, so build it once per instance.
pub struct Detector {
    rules: Vec<Rule>,
    /// Which rules a text needs; see [`KeywordGate`].
    gate: KeywordGate,
    normalize: bool,
}

impl Default for Detector {
    fn default() -> Self {
        Detector::new()
    }
}

impl Detector {
    /// Every built-in rule.
    pub fn new() -> Detector {
        Detector::from_rules(all_rules(), true)
    }

    fn from_rules(rules: Vec<Rule>, normalize: bool) -> Detector {
        let gate = KeywordGate::new(rules.iter().map(|r| &r.needs));
        Detector {
            rules,
            gate,
            normalize,
        }
    }

    /// This detector, reading text as written (`false`) instead of normalised first (the default).
    pub fn with_normalization(mut self, normalize: bool) -> Detector {
        self.normalize = normalize;
        self
    }

    /// The ids of the built-in rules, each once, in the order they run.
    pub fn builtin_ids() -> Vec<String> {
        Detector::new().ids()
    }

    /// The ids of this detector's rules, each once, in the order they run.
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for rule in &self.rules {
            if !ids.contains(&rule.id) {
                ids.push(rule.id.clone());
            }
        }
        ids
    }

    /// Only the rules whose ids are in `ids`.
    pub fn only(mut self, ids: &[String]) -> Detector {
        self.rules.retain(|r| ids.contains(&r.id));
        Detector::from_rules(self.rules, self.normalize)
    }

    /// Without the rules whose ids are in `ids`.
    pub fn without(mut self, ids: &[String]) -> Detector {
        self.rules.retain(|r| !ids.contains(&r.id));
        Detector::from_rules(self.rules, self.normalize)
    }

    /// With a team's own rules after the built-in ones.
    pub fn with_custom(mut self, custom: Vec<CustomRule>) -> Detector {
        self.rules.extend(custom.into_iter().map(|c| Rule {
            id: c.id,
            description: c.description,
            needs: prefixes(c.pattern.as_str()),
            pattern: c.pattern,
            confidence: c.confidence,
            check: Check::Custom {
                min_entropy: c.min_entropy,
            },
        }));
        Detector::from_rules(self.rules, self.normalize)
    }

    /// Every credential in `text`; of overlapping hits, the more confident (then the longer) wins.
    /// Unless turned off, the text is normalised first (zero-width characters, full-width letters,
    /// escapes …) and each span covers the value as written, disguise included.
    pub fn detect(&self, text: &str) -> Vec<Hit<'_>> {
        self.normalized(text, |text| {
            self.detect_with(text, &self.gate.rules_for(text))
        })
    }

    /// What a text must hold for any rule to match (the plugin's gate): the rules' keywords, and
    /// anything normalising would fold. `None` when a rule has no keyword to hold on to.
    pub fn gate(&self) -> Option<palisade_sdk::Gate> {
        let mut gate = self.gate.gate()?;
        if self.normalize {
            gate.bytes = FOLD_BYTES.into();
            gate.non_ascii = true;
        }
        Some(gate)
    }

    /// The same as [`Detector::detect`], with every rule searching the whole text: the reference the
    /// keyword prefilter is tested and benchmarked against.
    pub fn detect_without_prefilter(&self, text: &str) -> Vec<Hit<'_>> {
        self.normalized(text, |text| {
            self.detect_with(text, &vec![true; self.rules.len()])
        })
    }

    fn normalized<'d>(&'d self, text: &str, detect: impl Fn(&str) -> Vec<Hit<'d>>) -> Vec<Hit<'d>> {
        if !self.normalize {
            return detect(text);
        }
        let normalized = Normalized::with_look_alikes(text);
        let mut hits = detect(normalized.text());
        for hit in &mut hits {
            let (range, folds) = normalized.locate(hit.range.clone());
            hit.range = range;
            hit.evasion = folds.intersection(Folds::EVASIVE_IN_TOKENS);
        }
        hits
    }

    fn detect_with(&self, text: &str, wanted: &[bool]) -> Vec<Hit<'_>> {
        let mut hits = Vec::new();
        for (rule, _) in self.rules.iter().zip(wanted).filter(|(_, &run)| run) {
            for caps in rule.pattern.captures_iter(text) {
                // A rule with a `secret` group reports only the value, not the key name before it.
                let Some(m) = caps.name("secret").or_else(|| caps.get(0)) else {
                    continue;
                };
                let mut found = |range| {
                    hits.push(Hit {
                        rule: &rule.id,
                        description: &rule.description,
                        range,
                        confidence: rule.confidence,
                        evasion: Folds::NONE,
                    })
                };
                match rule.check {
                    Check::Builtin(validate) => {
                        validate(text, m.range()).into_iter().for_each(found)
                    }
                    Check::Column(expand) => expand(text, m.range()).into_iter().for_each(found),
                    Check::Custom { min_entropy } => {
                        let value = m.as_str();
                        if !value.is_empty() && !placeholder(value) && entropy(value) >= min_entropy
                        {
                            found(m.range());
                        }
                    }
                }
            }
        }
        palisade_sdk::keep_best_non_overlapping(hits, |h| h.range.clone(), |h| h.confidence)
    }
}

/// How a credential is told as what it opens, between its name and the value: `… for the vpn is `, `… to
/// my work account is: `. Up to four words (an address among them may already read `[EMAIL_ADDRESS]`).
const WHAT_IT_OPENS_THEN_IS: &str =
    r#"[ \t]+(?:for|to|of|on)(?:[ \t]+[\w.@'\[\]-]+){1,4}?[ \t]+is:?\s*['"`]?"#;

/// The markup a model's answer closes a label with before its value: Markdown's emphasis (`**API key:**
/// …`) or an HTML element's end tag (`<b>Secret</b>: …`). A macro so `concat!` takes it as well as `format!`.
macro_rules! label_markup {
    () => {
        r"(?:\*\*|__|</(?:b|strong|em|i|label|span|th|td|dt)>)?"
    };
}
const LABEL_MARKUP: &str = label_markup!();

/// A type declared between a name and its value: Go's `var apiToken string = …`, Python's `password: str =`,
/// TypeScript's `: string`, Kotlin's and Swift's `: String`, Rust's `: &str` and `: &'static str`.
macro_rules! declared_type {
    () => {
        r"(?:[ \t]*:?[ \t]+&?(?:'static[ \t]+)?(?:string|str)\b)?"
    };
}
const DECLARED_TYPE: &str = declared_type!();

fn all_rules() -> Vec<Rule> {
    let built_in = |id: &str, description: &str, pattern: &str, confidence, check| Rule {
        id: id.to_string(),
        description: description.to_string(),
        // ASCII word boundaries: a Unicode `\b` stops the fast DFA at the first non-ASCII byte, and a
        // prompt in Japanese or Russian would fall back to the slow engine for every rule.
        // The patterns are constants of this crate; a bad one is a bug the test suite catches at once.
        pattern: Regex::new(&pattern.replace(r"\b", r"(?-u:\b)"))
            .expect("built-in pattern compiles"),
        confidence,
        check,
        needs: prefixes(pattern),
    };
    let rule = |id: &str, description: &str, pattern: &str, confidence, validate: Validator| {
        built_in(
            id,
            description,
            pattern,
            confidence,
            Check::Builtin(validate),
        )
    };
    let mut rules = vec![
        // Base64 bodies contain no '-', so the body runs to the END line (or, if cut off, to the next '-').
        rule(
            "private-key",
            "PEM private key",
            r"-----BEGIN[A-Z ]{0,24} PRIVATE KEY(?: BLOCK)?-----[^-]*(?:-----END[A-Z ]{0,24} PRIVATE KEY(?: BLOCK)?-----)?",
            0.99,
            private_key,
        ),
        // PuTTY's own key file (`.ppk`, versions 2 and 3): headers, the public lines, then as many private
        // lines as `Private-Lines:` says (the validator reads them), in plain text or encrypted. Line
        // breaks as written or JSON-escaped.
        rule(
            "private-key",
            "PuTTY private key file",
            concat!(
                r"PuTTY-User-Key-File-[1-3]: [\w.@-]+(?:(?:\r?\n|\\r?\\n)(?:[A-Za-z-]+: [^\r\n\\]*|[A-Za-z0-9+/=]+))*?",
                r"(?:\r?\n|\\r?\\n)Private-Lines: \d{1,3}",
            ),
            0.99,
            putty_private_key,
        )
        .needing_exactly(&["PuTTY-User-Key-File-"]),
        // A PEM private key in base64 as a whole (`LS0tLS1CRUdJTi…` is `-----BEGIN`): a kubeconfig's
        // `client-key-data`, a Kubernetes secret's `tls.key`, a Helm value.
        rule(
            "private-key",
            "base64-encoded PEM private key",
            r"LS0tLS1CRUdJTi[A-Za-z0-9+/]{80,}={0,2}",
            0.99,
            base64_private_key,
        )
        .needing_exactly(&["LS0tLS1CRUdJTi"]),
        rule(
            "connection-string",
            "database or broker URL with a password",
            // `postgresql+psycopg2://` is SQLAlchemy's form: a driver after the scheme.
            r"(?i)\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver|oracle|cockroachdb|clickhouse|couchdb|neo4j|cassandra)(?:\+[a-z0-9]+)?://[^\s:/@'`<>]*:(?P<password>[^\s@'`<>/]+)@[^\s'`<>()]+",
            0.95,
            connection_string,
        )
        .needing(&["://"]),
        // Oracle's thin driver writes `user/password@`: `jdbc:oracle:thin:scott/…@//db:1521/ORCL`.
        rule(
            "connection-string",
            "Oracle JDBC URL with a password",
            r#"(?i)\bjdbc:oracle:thin:[^\s/@:'"`<>]+/(?P<password>[^\s@'"`<>/]+)@[^\s'"`<>()]+"#,
            0.95,
            |text, range| {
                let value = text[range.clone()].trim_end_matches(['.', ',', ';', '!', '?']);
                let (_, rest) = value.split_once("thin:")?;
                let password = rest.split('@').next()?.split_once('/')?.1;
                (password.len() >= 4 && !placeholder(password))
                    .then_some(range.start..range.start + value.len())
            },
        )
        .needing(&["jdbc:oracle"]),
        // Go's MySQL driver's data source name: `app:pw@tcp(db:3306)/shop?parseTime=true`.
        rule(
            "connection-string",
            "Go MySQL data source name with a password",
            r#"(?i)\b[a-z0-9_.-]{1,64}:(?P<password>[^\s@'"`<>/]{4,128})@(?:tcp6?|udp|unix)\([^\s()'"`<>]*\)/[^\s'"`<>()]*"#,
            0.95,
            connection_string,
        )
        .needing(&["@tcp(", "@udp(", "@unix("]),
        // JDBC and ADO.NET: the password is a parameter (`jdbc:postgresql://db/app?user=u&password=…`,
        // `Server=db;Database=app;User ID=u;Password=…;`); the whole string is reported, as above.
        rule(
            "connection-string",
            "JDBC URL with a password",
            r#"(?i)\bjdbc:[a-z0-9:]+//[^\s'"`<>]*?[?&;](?:password|pwd)=[^\s&;'"`<>]{4,128}[^\s'"`<>]*"#,
            0.95,
            keyed_connection_string,
        )
        .needing(&["jdbc:"]),
        rule(
            "connection-string",
            "ADO.NET connection string with a password",
            r#"(?i)(?:\b(?:server|data source|host|address|addr|network address)\s*=[^;\r\n"'`]{1,200};)(?:\s*[a-z][a-z ]{1,30}=[^;\r\n"'`]{0,200};){0,10}?\s*(?:password|pwd)\s*=[^;\r\n"'`]{4,128}(?:;\s*[a-z][a-z ]{1,30}=[^;\r\n"'`]{0,200})*;?"#,
            0.95,
            keyed_connection_string,
        )
        .needing(&["password", "pwd"]),
        // `https://user:TOKEN@host/`: only the password is the secret; the rest of the URL is pii's.
        // Or a token sent as the user, with no password: `git clone https://ghp_…@github.com/acme/app.git`
        // (one pattern for both: every text with a URL is searched).
        rule(
            "url-password",
            "password in a URL's user-info",
            // Any scheme: `rtsp://admin:…@camera`, `snowflake://ann:…@account`, `svn+ssh://…`.
            r#"(?i)\b[a-z][a-z0-9+.-]{1,24}://(?:[^\s:/@'"`<>]+:)?(?P<secret>[^\s@/'"`<>]+)@[A-Za-z0-9\[]"#,
            0.9,
            url_password,
        )
        .needing(&["://"]),
        // A credential in a query string: `?api_key=…`, `&sig=…` (SAS), `&access_token=…`.
        rule(
            "generic-api-key",
            "credential in a URL's query string",
            // The same names pii cuts out of a URL: these, or any name containing token, secret, password…
            r#"(?i)[?&](?:[a-z0-9_.-]*(?:token|secret|passw(?:or)?d|api[_-]?key|apikey|signature)|key|auth|sig|pwd|code)=(?P<secret>[^&\s#'"<>]{16,256})"#,
            0.8,
            generic,
        )
        .needing(&[
            "key=", "token=", "auth=", "sig=", "signature=", "secret=", "password=", "passwd=", "pwd=", "code=",
        ]),
        rule(
            "jwt",
            "JSON web token",
            // The signature may be missing: an unsigned (`"alg": "none"`) or cut-off token still carries claims
            // some servers accept.
            r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]{8,})?",
            0.95,
            jwt,
        ),
        rule(
            "aws-secret-access-key",
            "AWS secret access key",
            r"(?:^|[^A-Za-z0-9/+])(?P<secret>[A-Za-z0-9/+]{40})(?:$|[^A-Za-z0-9/+=])",
            0.85,
            aws_secret,
        )
        // Not the pattern's words but the validator's: it keeps a value only with one of these near it.
        .needing(&["aws", "secret", "akia", "asia"]),
        rule(
            "azure-ad-client-secret",
            "Azure AD (Entra ID) client secret",
            r#"(?:^|[\\'"`\s>=:(,])(?P<secret>[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34})(?:$|[\\'"`\s<),])"#,
            0.95,
            high_entropy,
        )
        .needing(&["Q~"]),
        rule(
            "azure-storage-account-key",
            "Azure storage account key in a connection string",
            r"(?i)AccountKey=(?P<secret>[A-Za-z0-9+/]{86}==)",
            0.97,
            provider,
        )
        .needing(&["AccountKey="]),
        rule(
            "basic-auth-header",
            "HTTP Basic credentials",
            r#"(?i)authorization["']?\s*[:=]\s*["']?basic\s+(?P<secret>[A-Za-z0-9+/]{8,}={0,2})"#,
            0.9,
            basic_auth,
        )
        .needing(&["authorization"]),
        // curl's own ways to send a credential, over up to a few `\`-continued lines.
        rule(
            "curl-auth-user",
            "user and password in a curl command",
            concat!(
                r#"\bcurl\b(?:[^\n]|\\\r?\n)*?[ \t](?:-u|--user)(?:=|[ \t]{1,5})"#,
                r#"(?P<secret>"[^"\n]*"(?::"[^"\n]*")?|'[^'\n]*'|[^\s"':]*:(?:"[^"\n]*"|'[^'\n]*'|[^\s"']*)|[^\s"']+)"#
            ),
            0.85,
            curl_user,
        )
        .needing(&["curl"]),
        rule(
            "curl-auth-header",
            "credential in a curl command's header",
            concat!(
                r#"(?i)\bcurl\b(?:[^\n]|\\\r?\n)*?[ \t](?:-H|--header)(?:=|[ \t]{1,5})["']?[ \t]*"#,
                r#"(?:authorization:[ \t]*(?:(?:bearer|token|basic|api-?token)[ \t]+)?|(?:x-)?(?:[a-z]+-)?(?:api-?)?(?:key|token|auth(?:-token)?)[ \t]*:[ \t]*)"#,
                r#"(?P<secret>[A-Za-z0-9=~@.+/_-]{8,})"#
            ),
            0.85,
            curl_header,
        )
        .needing(&["curl"]),
        // The first part is the bot's user id in base64; the second a timestamp, the third an HMAC.
        rule(
            "discord-bot-token",
            "Discord bot token",
            r"\b[MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}\b",
            0.9,
            discord_bot_token,
        )
        // Two digits in base64 (see `discord_bot_token`): the words that keep the rule off other texts.
        .needing_exactly(&["MD", "MT", "Mj", "Mz", "ND", "NT", "Nj", "Nz", "OD", "OT"]),
        // SoftLayer's SOAP endpoint takes the API key as the path's last part.
        rule(
            "softlayer-api-key",
            "SoftLayer (IBM Cloud classic) API key in its endpoint's URL",
            r"(?i)\bapi\.softlayer\.com/(?:soap|rest)/v3(?:\.1)?/(?P<secret>[a-z0-9]{64})\b",
            0.9,
            keyed_value,
        )
        .needing(&["softlayer.com"]),
        rule(
            "slack-webhook-url",
            "Slack incoming webhook URL",
            r"(?i)(?:https?://)?\bhooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{20,60}",
            0.97,
            provider,
        )
        .needing(&["hooks.slack.com"]),
        rule(
            "microsoft-teams-webhook",
            "Microsoft Teams incoming webhook URL",
            // The tenant's own host (`acme.webhook.office.com/webhookb2/`) or the older shared one.
            r"(?i)https://(?:[a-z0-9-]+\.webhook\.office\.com/webhookb2|outlook\.office(?:365)?\.com/webhook)/[a-z0-9-]{36}@[a-z0-9-]{36}/IncomingWebhook/[a-z0-9]{32}/[a-z0-9-]{36}",
            0.97,
            provider,
        )
        .needing(&[".webhook.office.com/", "outlook.office.com/webhook/", "outlook.office365.com/webhook/"]),
        rule(
            "discord-webhook-url",
            "Discord webhook URL",
            r"(?i)https://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/api/webhooks/\d{17,20}/[A-Za-z0-9_-]{60,80}",
            0.97,
            provider,
        )
        .needing(&["/api/webhooks/"]),
        rule(
            "zapier-webhook-url",
            "Zapier catch hook URL",
            r"(?i)(?:https?://)?\bhooks\.zapier\.com/hooks/catch/\d{4,12}/[a-z0-9]{5,12}\b/?",
            0.95,
            provider,
        )
        .needing(&["hooks.zapier.com/hooks/catch/"]),
        // Firebase Cloud Messaging's legacy server key: `AAAA` and seven characters naming the project,
        // a colon, then the key itself, which always starts `APA91b`.
        rule(
            "firebase-cloud-messaging-server-key",
            "Firebase Cloud Messaging legacy server key",
            r"\bAAAA[A-Za-z0-9_-]{7}:APA91b[A-Za-z0-9_-]{120,150}",
            0.95,
            provider,
        )
        .needing_exactly(&[":APA91b"]),
        rule(
            "telegram-bot-api-token",
            "Telegram bot token",
            r"\b\d{8,10}:AA[A-Za-z0-9_-]{33}(?:$|[^A-Za-z0-9_-])",
            0.9,
            telegram,
        )
        .needing(&[":AA"]),
    ];
    // Provider tokens that announce themselves with a prefix: a match is a credential unless it is a
    // placeholder or, for the shorter shapes, lacks a generated token's entropy.
    #[rustfmt::skip]
    let prefixed: &[(&str, &str, &str)] = &[
        ("anthropic-api-key", "Anthropic API key", r"\bsk-ant-api\d{2}-[A-Za-z0-9_-]{80,120}"),
        ("anthropic-admin-api-key", "Anthropic admin API key", r"\bsk-ant-admin\d{2}-[A-Za-z0-9_-]{80,120}"),
        ("openai-api-key", "OpenAI API key", r"\bsk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_-]{16,}T3BlbkFJ[A-Za-z0-9_-]{16,}|\bsk-proj-[A-Za-z0-9_-]{80,}"),
        ("groq-api-key", "Groq API key", r"\bgsk_[A-Za-z0-9]{52}\b"),
        ("perplexity-api-key", "Perplexity API key", r"\bpplx-[A-Za-z0-9]{48}\b"),
        ("huggingface-access-token", "Hugging Face access token", r"\bhf_[A-Za-z]{34}\b"),
        ("xai-api-key", "xAI API key", r"\bxai-[A-Za-z0-9]{80}\b"),
        ("openrouter-api-key", "OpenRouter API key", r"\bsk-or-v1-[a-f0-9]{64}\b"),
        ("langsmith-api-key", "LangSmith API key", r"\blsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}\b"),
        ("pinecone-api-key", "Pinecone API key", r"\bpcsk_[A-Za-z0-9]{4,8}_[A-Za-z0-9]{40,80}\b"),
        ("replicate-api-token", "Replicate API token", r"\br8_[A-Za-z0-9]{37}\b"),
        ("docker-access-token", "Docker Hub access token", r"\bdckr_(?:pat|oat)_[A-Za-z0-9_-]{27,40}\b"),
        ("figma-access-token", "Figma personal access token", r"\bfigd_[A-Za-z0-9_-]{40,43}\b"),
        ("supabase-access-token", "Supabase access token", r"\bsbp_[a-f0-9]{40}\b"),
        ("supabase-secret-key", "Supabase secret key", r"\bsb_secret_[A-Za-z0-9_-]{31,40}\b"),
        ("aws-access-token", "AWS access key id", r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b"),
        ("github-pat", "GitHub personal access token", r"\bghp_[A-Za-z0-9]{36}\b"),
        ("github-oauth", "GitHub OAuth token", r"\bgho_[A-Za-z0-9]{36}\b"),
        ("github-app-token", "GitHub app token", r"\bgh[us]_[A-Za-z0-9]{36}\b"),
        ("github-refresh-token", "GitHub refresh token", r"\bghr_[A-Za-z0-9]{36}\b"),
        ("github-fine-grained-pat", "GitHub fine-grained token", r"\bgithub_pat_[A-Za-z0-9_]{82}\b"),
        ("gitlab-pat", "GitLab personal access token", r"\bglpat-[A-Za-z0-9_-]{20}\b"),
        ("gitlab-ptt", "GitLab pipeline trigger token", r"\bglptt-[A-Za-z0-9_-]{40}\b"),
        ("gitlab-rrt", "GitLab runner registration token", r"\bGR1348941[A-Za-z0-9_-]{20,50}\b"),
        ("gitlab-runner-authentication-token", "GitLab runner authentication token", r"\bglrt-[A-Za-z0-9_-]{20}\b"),
        ("gitlab-deploy-token", "GitLab deploy token", r"\bgldt-[A-Za-z0-9_-]{20}\b"),
        ("slack-bot-token", "Slack bot token", r"\bxoxb-\d{8,13}-\d{8,13}-[A-Za-z0-9]{20,32}\b"),
        ("slack-user-token", "Slack user token", r"\bxox[pe](?:-\d{8,13}){3}-[A-Za-z0-9]{28,40}\b"),
        ("slack-app-token", "Slack app-level token", r"(?i)\bxapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+\b"),
        ("stripe-access-token", "Stripe secret or restricted key", r"\b(?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{20,247}\b"),
        ("gcp-api-key", "Google API key", r"\bAIza[0-9A-Za-z_-]{35}"),
        ("gcp-oauth-client-secret", "Google OAuth client secret", r"\bGOCSPX-[A-Za-z0-9_-]{28}\b"),
        ("twilio-api-key", "Twilio API key", r"\bSK[0-9a-fA-F]{32}\b"),
        ("sendgrid-api-token", "SendGrid API key", r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b"),
        ("sendinblue-api-token", "Brevo (Sendinblue) API key", r"\bxkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}\b"),
        ("mailchimp-api-key", "Mailchimp API key", r"\b[0-9a-f]{32}-us\d{1,2}\b"),
        ("npm-access-token", "npm access token", r"\bnpm_[A-Za-z0-9]{36}\b"),
        ("pypi-upload-token", "PyPI upload token", r"\bpypi-AgE(?:IcHlwaS5vcmc|NdGVzdC5weXBpLm9yZw)[A-Za-z0-9_-]{50,}"),
        ("rubygems-api-token", "RubyGems API key", r"\brubygems_[a-f0-9]{48}\b"),
        ("clojars-api-token", "Clojars deploy token", r"\bCLOJARS_[a-z0-9]{60}\b"),
        ("shopify-access-token", "Shopify access token", r"\bshpat_[a-fA-F0-9]{32}\b"),
        ("shopify-custom-access-token", "Shopify custom app access token", r"\bshpca_[a-fA-F0-9]{32}\b"),
        ("shopify-private-app-access-token", "Shopify private app access token", r"\bshppa_[a-fA-F0-9]{32}\b"),
        ("shopify-shared-secret", "Shopify shared secret", r"\bshpss_[a-fA-F0-9]{32}\b"),
        ("digitalocean-pat", "DigitalOcean personal access token", r"\bdop_v1_[a-f0-9]{64}\b"),
        ("digitalocean-access-token", "DigitalOcean OAuth token", r"\bdoo_v1_[a-f0-9]{64}\b"),
        ("digitalocean-refresh-token", "DigitalOcean refresh token", r"\bdor_v1_[a-f0-9]{64}\b"),
        ("linear-api-key", "Linear API key", r"\blin_api_[A-Za-z0-9]{40}\b"),
        ("doppler-api-token", "Doppler token", r"\bdp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}\b"),
        ("dynatrace-api-token", "Dynatrace API token", r"\bdt0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}\b"),
        ("databricks-api-token", "Databricks access token", r"\bdapi[a-f0-9]{32}(?:-\d)?\b"),
        ("hashicorp-tf-api-token", "Terraform Cloud API token", r"\b[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}\b"),
        ("vault-service-token", "HashiCorp Vault service token", r"\bhvs\.[A-Za-z0-9_-]{90,120}\b"),
        ("vault-batch-token", "HashiCorp Vault batch token", r"\bhvb\.[A-Za-z0-9_-]{138,300}\b"),
        ("pulumi-api-token", "Pulumi access token", r"\bpul-[a-f0-9]{40}\b"),
        ("postman-api-token", "Postman API key", r"\bPMAK-[a-f0-9]{24}-[a-f0-9]{34}\b"),
        ("grafana-api-key", "Grafana API key", r"\beyJrIjoi[A-Za-z0-9]{70,400}={0,3}"),
        ("grafana-cloud-api-token", "Grafana Cloud token", r"\bglc_[A-Za-z0-9+/]{32,400}={0,3}"),
        ("grafana-service-account-token", "Grafana service account token", r"\bglsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}\b"),
        ("new-relic-user-api-key", "New Relic user API key", r"\bNRAK-[A-Z0-9]{27}\b"),
        ("sentry-user-token", "Sentry user auth token", r"\bsntryu_[a-f0-9]{64}\b"),
        ("age-secret-key", "age encryption secret key", r"\bAGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}\b"),
        ("alibaba-access-key-id", "Alibaba Cloud AccessKey ID", r"\bLTAI[A-Za-z0-9]{20}\b"),
        ("artifactory-api-key", "JFrog Artifactory API key", r"\bAKCp[A-Za-z0-9]{69}\b"),
        ("atlassian-api-token", "Atlassian API token", r"\bATATT3[A-Za-z0-9_=-]{186}"),
        ("flyio-access-token", "Fly.io access token", r"\bfo1_[A-Za-z0-9_-]{43}\b"),
        ("flyio-access-token", "Fly.io macaroon token", r"\bfm(?:1[ar]|2)_[A-Za-z0-9+/]{100,}={0,3}"),
        ("frameio-api-token", "Frame.io API token", r"\bfio-u-[A-Za-z0-9_=-]{64}\b"),
        ("planetscale-password", "PlanetScale password", r"\bpscale_pw_[A-Za-z0-9_.=-]{32,64}\b"),
        ("planetscale-api-token", "PlanetScale API token", r"\bpscale_tkn_[A-Za-z0-9_.=-]{32,64}\b"),
        ("prefect-api-token", "Prefect API key", r"\bpnu_[A-Za-z0-9]{36}\b"),
        ("readme-api-token", "ReadMe API key", r"\brdme_[a-z0-9]{70}\b"),
        ("scalingo-api-token", "Scalingo API token", r"\btk-us-[A-Za-z0-9_-]{48}\b"),
        ("shippo-api-token", "Shippo API token", r"\bshippo_(?:live|test)_[a-f0-9]{40}\b"),
        ("typeform-api-token", "Typeform personal token", r"\btfp_[A-Za-z0-9_.=-]{59}\b"),
        ("easypost-api-token", "EasyPost API key", r"\bEZAK[A-Za-z0-9]{54}\b"),
        ("duffel-api-token", "Duffel API token", r"\bduffel_(?:test|live)_[A-Za-z0-9_=-]{43}\b"),
        ("square-access-token", "Square access token", r"\b(?:EAAA|sq0atp-)[A-Za-z0-9_-]{22,60}\b"),
        ("square-secret", "Square OAuth secret", r"\bsq0csp-[A-Za-z0-9_-]{43}\b"),
        ("mapbox-api-token", "Mapbox secret token", r"\bsk\.eyJ1Ijoi[A-Za-z0-9_-]{50,}\.[A-Za-z0-9_-]{22}\b"),
        ("heroku-api-key-v2", "Heroku API key", r"\bHRKU-AA[A-Za-z0-9_-]{58}\b"),
        ("1password-secret-key", "1Password account secret key", r"\bA3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}\b"),
        ("1password-service-account-token", "1Password service account token", r"\bops_eyJ[A-Za-z0-9+/]{250,}={0,3}"),
        ("adobe-client-secret", "Adobe client secret", r"\bp8e-[A-Za-z0-9]{32}\b"),
        ("airtable-personnal-access-token", "Airtable personal access token", r"\bpat[A-Za-z0-9]{14}\.[a-f0-9]{64}\b"),
        ("artifactory-reference-token", "JFrog Artifactory reference token", r"\bcmVmd[A-Za-z0-9]{59}\b"),
        ("authress-service-client-access-key", "Authress service client access key", r"\b(?:sc|ext|scauth|authress)_[A-Za-z0-9]{5,30}\.[A-Za-z0-9]{4,6}\.acc[_-][A-Za-z0-9-]{10,32}\.[A-Za-z0-9+/_=-]{30,120}"),
        ("aws-amazon-bedrock-api-key-long-lived", "Amazon Bedrock API key", r"\bABSK[A-Za-z0-9+/]{109,269}={0,2}"),
        // The short-lived key starts with base64 of `bedrock.amazonaws.com`.
        ("aws-amazon-bedrock-api-key-short-lived", "Amazon Bedrock short-lived API key", r"\bbedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t[A-Za-z0-9+/%=]*"),
        ("clickhouse-cloud-api-secret-key", "ClickHouse Cloud API secret key", r"\b4b1d[A-Za-z0-9]{38}\b"),
        ("cloudflare-origin-ca-key", "Cloudflare Origin CA key", r"\bv1\.0-[a-f0-9]{24}-[a-f0-9]{146}\b"),
        ("defined-networking-api-token", "Defined Networking API token", r"\bdnkey-[A-Za-z0-9=_-]{26}-[A-Za-z0-9=_-]{52}"),
        ("easypost-test-api-token", "EasyPost test API key", r"\bEZTK[A-Za-z0-9]{54}\b"),
        ("facebook-page-access-token", "Facebook page access token", r"\bEAA[MC][A-Za-z0-9]{100,}"),
        ("flutterwave-secret-key", "Flutterwave secret key", r"\bFLWSECK(?:_TEST)?-[a-hA-H0-9]{32}-X\b"),
        ("flutterwave-public-key", "Flutterwave public key", r"\bFLWPUBK(?:_TEST)?-[a-hA-H0-9]{32}-X\b"),
        ("flutterwave-encryption-key", "Flutterwave encryption key", r"\bFLWSECK(?:_TEST)?-?[a-hA-H0-9]{12}\b"),
        ("gitlab-pat-routable", "GitLab personal access token (routable)", r"\bglpat-[A-Za-z0-9_-]{27,300}\.[0-9a-z]{9}\b"),
        ("gitlab-runner-authentication-token-routable", "GitLab runner token (routable)", r"\bglrt-t\d_[A-Za-z0-9_-]{27,300}\.[0-9a-z]{9}\b"),
        ("gitlab-cicd-job-token", "GitLab CI/CD job token", r"\bglcbt-(?:[A-Za-z0-9]{1,5}_)?[A-Za-z0-9_-]{20}\b"),
        ("gitlab-feature-flag-client-token", "GitLab feature flag client token", r"\bglffct-[A-Za-z0-9_-]{20}\b"),
        ("gitlab-feed-token", "GitLab feed token", r"\bglft-[A-Za-z0-9_-]{20}\b"),
        ("gitlab-incoming-mail-token", "GitLab incoming mail token", r"\bglimt-[A-Za-z0-9_-]{25}\b"),
        ("gitlab-kubernetes-agent-token", "GitLab Kubernetes agent token", r"\bglagent-[A-Za-z0-9_-]{50,1024}\b"),
        ("gitlab-oauth-app-secret", "GitLab OAuth application secret", r"\bgloas-[A-Za-z0-9_-]{64}\b"),
        ("gitlab-scim-token", "GitLab SCIM token", r"\bglsoat-[A-Za-z0-9_-]{20,50}\b"),
        ("gitlab-session-cookie", "GitLab session cookie", r"_gitlab_session=[0-9a-z]{32}\b"),
        ("harness-api-key", "Harness API key", r"\b(?:pat|sat)\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{20}\b"),
        ("huggingface-organization-api-token", "Hugging Face organization API token", r"\bapi_org_[A-Za-z]{34}\b"),
        ("infracost-api-token", "Infracost API token", r"\bico-[A-Za-z0-9]{32}\b"),
        ("intra42-client-secret", "42 Intra client secret", r"\bs-s4t2(?:ud|af)-[a-fA-F0-9]{64}\b"),
        ("maxmind-license-key", "MaxMind license key", r"\b[A-Za-z0-9]{6}_[A-Za-z0-9]{29}_mmk\b"),
        ("new-relic-browser-api-token", "New Relic browser API token", r"\bNRJS-[a-f0-9]{19}\b"),
        ("new-relic-insert-key", "New Relic insert key", r"\bNRII-[A-Za-z0-9-]{32}\b"),
        // Integration tokens since 2024, and the `secret_` ones before them, which still work.
        ("notion-api-token", "Notion API token", r"\bntn_[0-9]{11}[A-Za-z0-9]{35}\b|\bsecret_[A-Za-z0-9]{43}\b"),
        ("octopus-deploy-api-key", "Octopus Deploy API key", r"\bAPI-[A-Z0-9]{26}\b"),
        ("posthog-personal-api-key", "PostHog personal API key", r"\bphx_[A-Za-z0-9]{43}\b"),
        ("tailscale-key", "Tailscale auth, API or OAuth client key", r"\btskey-(?:auth|api|client|scim|webhook)-[A-Za-z0-9]{6,32}-[A-Za-z0-9]{16,64}\b"),
        // What Google's OAuth flow hands an app to call its APIs as the user, for an hour.
        ("gcp-oauth-access-token", "Google OAuth access token", r"\bya29\.[A-Za-z0-9_-]{30,512}"),
        ("openshift-user-token", "OpenShift user token", r"\bsha256~[A-Za-z0-9_-]{43}\b"),
        ("planetscale-oauth-token", "PlanetScale OAuth token", r"\bpscale_oauth_[A-Za-z0-9_.=-]{32,64}\b"),
        ("sentry-org-token", "Sentry organization auth token", r"\bsntrys_eyJpYXQiO[A-Za-z0-9+/]{10,400}={0,2}_[A-Za-z0-9+/]{43}"),
        ("settlemint-application-access-token", "SettleMint application access token", r"\bsm_aat_[A-Za-z0-9]{16}\b"),
        ("settlemint-personal-access-token", "SettleMint personal access token", r"\bsm_pat_[A-Za-z0-9]{16}\b"),
        ("settlemint-service-access-token", "SettleMint service access token", r"\bsm_sat_[A-Za-z0-9]{16}\b"),
        ("slack-config-access-token", "Slack configuration access token", r"(?i)\bxoxe\.xox[bp]-\d-[A-Z0-9]{163,166}\b"),
        ("slack-config-refresh-token", "Slack configuration refresh token", r"(?i)\bxoxe-\d-[A-Z0-9]{146}\b"),
        ("slack-legacy-bot-token", "Slack legacy bot token", r"\bxoxb-[0-9]{8,14}-[A-Za-z0-9]{18,26}\b"),
        ("slack-legacy-token", "Slack legacy token", r"\bxox[ospr]-\d{5,}-\d{5,}-\d{5,}-[a-fA-F\d]+\b"),
        ("slack-legacy-workspace-token", "Slack legacy workspace token", r"\bxox[ar]-(?:\d-)?[A-Za-z0-9]{8,48}(?:-[A-Za-z0-9]{8,48}){0,4}\b"),
        ("sourcegraph-access-token", "Sourcegraph access token", r"\bsgp_(?:[a-fA-F0-9]{16}_|local_)?[a-fA-F0-9]{40}\b"),
    ];
    // A trailing `\b` would miss tokens that end in `-`; `high_entropy` checks the token's end instead.
    rules.extend(prefixed.iter().map(|&(id, description, pattern)| {
        let pattern = pattern.strip_suffix(r"\b").unwrap_or(pattern);
        let rule = rule(id, description, pattern, 0.97, high_entropy);
        // Two shapes start with a character class; every token holds the literal inside.
        match id {
            "mailchimp-api-key" => rule.needing(&["-us"]),
            "hashicorp-tf-api-token" => rule.needing(&[".atlasv1."]),
            "maxmind-license-key" => rule.needing(&["_mmk"]),
            _ => rule,
        }
    }));
    // Provider credentials with no prefix of their own: a value of the provider's documented shape, assigned
    // to a name that mentions the provider (`ADAFRUIT_KEY = …`, `"datadog_token": "…"`, `<twitchToken>…`,
    // `System.setProperty("SENTRY_TOKEN", "…")`). The shapes are case-insensitive, as the providers' are.
    const UUID: &str = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
    #[rustfmt::skip]
    let keyed: &[(&str, &str, &[&str], &str)] = &[
        ("adafruit-api-key", "Adafruit IO key", &["adafruit"], "[a-z0-9_-]{32}"),
        ("adobe-client-id", "Adobe client id", &["adobe"], "[a-f0-9]{32}"),
        ("airtable-api-key", "Airtable API key", &["airtable"], "[a-z0-9]{17}"),
        ("algolia-api-key", "Algolia API key", &["algolia"], "[a-z0-9]{32}"),
        ("alibaba-secret-key", "Alibaba Cloud AccessKey secret", &["alibaba"], "[a-z0-9]{30}"),
        ("asana-client-id", "Asana client id", &["asana"], "[0-9]{16}"),
        ("asana-client-secret", "Asana client secret", &["asana"], "[a-z0-9]{32}"),
        ("beamer-api-token", "Beamer API token", &["beamer"], "b_[a-z0-9=_-]{44}"),
        ("bitbucket-client-id", "Bitbucket client id", &["bitbucket"], "[a-z0-9]{32}"),
        ("bitbucket-client-secret", "Bitbucket client secret", &["bitbucket"], "[a-z0-9=_-]{64}"),
        ("bittrex-access-key", "Bittrex API key", &["bittrex"], "[a-z0-9]{32}"),
        ("cisco-meraki-api-key", "Cisco Meraki API key", &["meraki"], "[0-9a-f]{40}"),
        ("cloudflare-global-api-key", "Cloudflare global API key", &["cloudflare"], "[a-f0-9]{37}"),
        ("cloudflare-api-key", "Cloudflare API token", &["cloudflare"], "[a-z0-9_-]{40}"),
        ("codecov-access-token", "Codecov access token", &["codecov"], "[a-z0-9]{32}"),
        ("cohere-api-token", "Cohere API key", &["cohere", "co_api_key"], "[a-z0-9]{40}"),
        ("coinbase-access-token", "Coinbase access token", &["coinbase"], "[a-z0-9_-]{64}"),
        ("confluent-access-token", "Confluent API key", &["confluent"], "[a-z0-9]{16}"),
        ("confluent-secret-key", "Confluent API secret", &["confluent"], "[a-z0-9]{64}"),
        ("contentful-delivery-api-token", "Contentful delivery API token", &["contentful"], "[a-z0-9=_-]{43}"),
        ("datadog-access-token", "Datadog API or application key", &["datadog"], "[a-z0-9]{32}|[a-z0-9]{40}"),
        ("discord-api-token", "Discord API token", &["discord"], "[a-f0-9]{64}"),
        ("discord-client-id", "Discord client id", &["discord"], "[0-9]{18}"),
        ("discord-client-secret", "Discord client secret", &["discord"], "[a-z0-9=_-]{32}"),
        ("droneci-access-token", "Drone CI access token", &["droneci", "drone_ci"], "[a-z0-9]{32}"),
        ("dropbox-api-token", "Dropbox API secret", &["dropbox"], "[a-z0-9]{15}"),
        ("dropbox-short-lived-api-token", "Dropbox short-lived token", &["dropbox"], r"sl\.[a-z0-9=_-]{135,}"),
        ("dropbox-long-lived-api-token", "Dropbox long-lived token", &["dropbox"], "[a-z0-9]{11}AAAAAAAAAA[a-z0-9=_-]{43}"),
        ("etsy-access-token", "Etsy API key", &["etsy"], "[a-z0-9]{24}"),
        ("facebook-secret", "Facebook app secret", &["facebook"], "[a-f0-9]{32}"),
        ("facebook-access-token", "Facebook app access token", &["facebook"], r"[0-9]{15,16}(?:\||%7C)[0-9a-z_-]{27,40}"),
        ("fastly-api-token", "Fastly API token", &["fastly"], "[a-z0-9=_-]{32}"),
        ("finicity-api-token", "Finicity API token", &["finicity"], "[a-f0-9]{32}"),
        ("finicity-client-secret", "Finicity client secret", &["finicity"], "[a-z0-9]{20}"),
        ("finnhub-access-token", "Finnhub API key", &["finnhub"], "[a-z0-9]{20}"),
        ("flickr-access-token", "Flickr API key", &["flickr"], "[a-z0-9]{32}"),
        ("freshbooks-access-token", "FreshBooks access token", &["freshbooks"], "[a-z0-9]{64}"),
        ("gitter-access-token", "Gitter access token", &["gitter"], "[a-z0-9_-]{40}"),
        ("gocardless-api-token", "GoCardless access token", &["gocardless"], "live_[a-z0-9=_-]{40}"),
        ("heroku-api-key", "Heroku API key", &["heroku"], UUID),
        ("hubspot-api-key", "HubSpot API key", &["hubspot"], UUID),
        ("intercom-api-key", "Intercom access token", &["intercom"], "[a-z0-9=_-]{60}"),
        ("jfrog-api-key", "JFrog API key", &["jfrog", "artifactory", "bintray", "xray"], "[a-z0-9]{73}"),
        ("jfrog-identity-token", "JFrog identity token", &["jfrog", "artifactory", "bintray", "xray"], "[a-z0-9]{64}"),
        ("kraken-access-token", "Kraken API key", &["kraken"], "[a-z0-9/=_+-]{80,90}"),
        ("kucoin-access-token", "KuCoin API key", &["kucoin"], "[a-f0-9]{24}"),
        ("kucoin-secret-key", "KuCoin API secret", &["kucoin"], UUID),
        ("launchdarkly-access-token", "LaunchDarkly access token", &["launchdarkly"], "[a-z0-9=_-]{40}"),
        ("linear-client-secret", "Linear OAuth client secret", &["linear"], "[a-f0-9]{32}"),
        ("linkedin-client-id", "LinkedIn client id", &["linkedin", "linked_in", "linked-in"], "[a-z0-9]{14}"),
        ("linkedin-client-secret", "LinkedIn client secret", &["linkedin", "linked_in", "linked-in"], "[a-z0-9]{16}"),
        ("lob-api-key", "Lob API key", &["lob"], "(?:live|test)_[a-f0-9]{35}"),
        ("lob-pub-api-key", "Lob publishable key", &["lob"], "(?:live|test)_pub_[a-f0-9]{31}"),
        ("looker-client-id", "Looker client id", &["looker"], "[a-z0-9]{20}"),
        ("looker-client-secret", "Looker client secret", &["looker"], "[a-z0-9]{24}"),
        ("mailgun-private-api-token", "Mailgun private API key", &["mailgun"], "key-[a-f0-9]{32}"),
        ("mailgun-pub-key", "Mailgun public validation key", &["mailgun"], "pubkey-[a-f0-9]{32}"),
        ("mailgun-signing-key", "Mailgun webhook signing key", &["mailgun"], "[a-h0-9]{32}-[a-h0-9]{8}-[a-h0-9]{8}"),
        ("mattermost-access-token", "Mattermost access token", &["mattermost"], "[a-z0-9]{26}"),
        ("messagebird-api-token", "MessageBird API key", &["messagebird", "message_bird", "message-bird"], "[a-z0-9]{25}"),
        ("messagebird-client-id", "MessageBird client id", &["messagebird", "message_bird", "message-bird"], UUID),
        ("netlify-access-token", "Netlify access token", &["netlify"], "[a-z0-9=_-]{40,46}"),
        ("new-relic-user-api-id", "New Relic user API id", &["newrelic", "new_relic", "new-relic"], "[a-z0-9]{64}"),
        ("nytimes-access-token", "New York Times API key", &["nytimes", "newyorktimes", "new-york-times"], "[a-z0-9=_-]{32}"),
        ("okta-access-token", "Okta API token", &["okta"], "00[a-z0-9_=-]{40}"),
        ("plaid-api-token", "Plaid access token", &["plaid"], "access-(?:sandbox|development|production)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
        ("plaid-client-id", "Plaid client id", &["plaid"], "[a-z0-9]{24}"),
        ("plaid-secret-key", "Plaid secret", &["plaid"], "[a-z0-9]{30}"),
        ("privateai-api-token", "Private AI API key", &["privateai", "private_ai", "private-ai"], "[a-z0-9]{32}"),
        ("rapidapi-access-token", "RapidAPI key", &["rapidapi"], "[a-z0-9_-]{50}"),
        ("sendbird-access-id", "Sendbird application id", &["sendbird"], UUID),
        ("sendbird-access-token", "Sendbird API token", &["sendbird"], "[a-f0-9]{40}"),
        ("sentry-access-token", "Sentry access token", &["sentry"], "[a-f0-9]{64}"),
        ("sidekiq-secret", "Sidekiq Enterprise credentials", &["bundle_enterprise__contribsys__com", "bundle_gems__contribsys__com"], "[a-f0-9]{8}:[a-f0-9]{8}"),
        ("snyk-api-token", "Snyk API token", &["snyk"], UUID),
        ("softlayer-api-key", "SoftLayer (IBM Cloud classic) API key", &["softlayer", "sl_api_key", "sl-api-key", "sl_apikey", "slapi_key", "slapikey", "sl_key", "sl-key", "sl_pass"], "[a-z0-9]{64}"),
        ("ibm-cos-hmac-secret", "IBM Cloud Object Storage HMAC secret", &["cos_hmac", "ibm_cos", "secret_access_key"], "[a-f0-9]{48}"),
        ("cloudant-password", "IBM Cloudant password or API key", &["cloudant"], "[a-z0-9]{64}"),
        ("sonar-api-token", "SonarQube token", &["sonar"], "(?:squ_|sqp_|sqa_)?[a-z0-9=_-]{40}"),
        ("sourcegraph-access-token", "Sourcegraph access token", &["sourcegraph"], "[a-f0-9]{40}"),
        ("squarespace-access-token", "Squarespace API key", &["squarespace"], UUID),
        ("sumologic-access-id", "Sumo Logic access id", &["sumo"], "su[a-z0-9]{12}"),
        ("sumologic-access-token", "Sumo Logic access key", &["sumo"], "[a-z0-9]{64}"),
        ("telegram-bot-api-token", "Telegram bot token", &["telegr"], "[0-9]{5,16}:A[a-z0-9_-]{34}"),
        ("travisci-access-token", "Travis CI access token", &["travis"], "[a-z0-9]{22}"),
        ("twitch-api-token", "Twitch API token", &["twitch"], "[a-z0-9]{30}"),
        ("twitter-api-key", "Twitter (X) API key", &["twitter"], "[a-z0-9]{25}"),
        ("twitter-access-secret", "Twitter (X) access token secret", &["twitter"], "[a-z0-9]{45}"),
        ("twitter-api-secret", "Twitter (X) API secret", &["twitter"], "[a-z0-9]{50}"),
        ("twitter-access-token", "Twitter (X) access token", &["twitter"], "[0-9]{15,25}-[a-z0-9]{20,40}"),
        ("twitter-bearer-token", "Twitter (X) bearer token", &["twitter"], "A{22}[a-z0-9%]{80,100}"),
        ("yandex-access-token", "Yandex Cloud IAM token", &["yandex"], r"t1\.[a-z0-9_-]+={0,2}\.[a-z0-9_-]{86}={0,2}"),
        ("yandex-api-key", "Yandex Cloud API key", &["yandex"], "AQVN[a-z0-9_-]{35,38}"),
        ("yandex-aws-access-token", "Yandex Cloud static access key", &["yandex"], "YC[a-z0-9_-]{38}"),
        ("zendesk-secret-key", "Zendesk API token", &["zendesk"], "[a-z0-9]{40}"),
    ];
    rules.extend(keyed.iter().map(|&(id, description, names, value)| {
        let alternatives = provider_names(names);
        let pattern = format!(
            concat!(
                // The provider's name, the rest of the variable name, a type (`string`, `: String`), a quote.
                r#"(?i)(?:{names})[A-Za-z0-9_.-]{{0,20}}(?:[ \t]*:?[ \t]+[A-Za-z0-9_.-]{{1,20}})?[ \t]*['"]?[ \t]*"#,
                // Assignments in every language and format: `=`, `:=`, `::=`, `?=`, `.=`, `=>`, `:`, a call's
                // `,`, an XML element's `>`, a command line's space (`--softlayer-api-key "…"`).
                r#"(?:=|>|:{{1,3}}=|\|\|=?|:|=>|\?=|\.=|,|[ \t])[\s'"`=]{{0,10}}"#,
                r#"(?P<secret>{value})(?:[\s'"`;,)<\\]|$)"#
            ),
            names = alternatives,
            value = value
        );
        rule(id, description, &pattern, 0.9, keyed_value).needing(names)
    }));
    rules.push(
        rule(
            "generic-api-key",
            "credential assigned to a key-like name",
            concat!(
                r#"(?i)(?:(?:api[_\s.-]?key|apikey|api[_-]?secret|"#,
                // Other languages' `API key`: `API-Schlüssel`, `Clé API`, `Clave de API`, `chiave API`.
                r#"api[_\s.-]?schl(?:ü|ue)ssel|api[_\s.-]?sleutel|(?:cl(?:é|e)|clave|chave|chiave|klucz)[ \t]+(?:(?:de|da|d'|dell')[ \t]*)?api|"#,
                r#"client[_-]?secret|auth[_-]?token|access[_-]?token|refresh[_-]?token|"#,
                r#"secret[_-]?key|private[_-]?token|x-api-key|bearer|token|secret|passwd|password)"#,
                // The rest of a longer name: `some_api_token_123`, `todo_secret_do_not_commit`, `mySecretString`.
                r#"(?:[_.-]?[a-z0-9]+){0,3}['"`]?\]?"#,
                label_markup!(),
                declared_type!(),
                // How a value is tied to the name: `= "…"`, `: …`, ` is …`, ` (…)`, ` below:\n…`, Make's `:=`
                // `::=` `?=`, PHP's `.=`, a call's `, "…"`, an XML element's `>`, a Markdown table's `|`,
                // an instruction's ` to …` (``Set `OPENAI_API_KEY` to `…` ``).
                r#"\s*(?:[:=]{1,4}|=>|\?=|\.=|!==?|,|>|\||\bis\b:?|\bto\b|\bbelow\b:?|\()?(?:\*\*|__)?"#,
                // Wider names (`OPENAI_KEY`, `auth_key`, `credentials`) only with an assignment, an XML
                // element's `>` (`<STRIPE_KEY>…</STRIPE_KEY>`) or a sentence's `is` (`the key is …`).
                r#"|(?:key|auth|credentials?|creds)['"]?\s*(?:[:=]{1,4}|=>|\?=|\.=|>|\bis\b))\s*"#,
                // A YAML block scalar holds the value on the next line: `api_key: |` or `>-`.
                r#"(?:[|>][-+]?[ \t]*\r?\n\s*)?['"`]?"#,
                r#"(?P<secret>[A-Za-z0-9_\-./+=~]{16,128})"#
            ),
            0.7,
            named_generic,
        )
        .needing(&["api", "secret", "token", "bearer", "passw", "key", "auth", "cred"]),
    );
    // A key shown after an arrow or a dash (`Refresh token — …`, `Use this key → …`). Its own rule, run
    // only on texts with one of those: as ties of the rule above they cost it a sixth of its speed, since
    // its names are in most logs. With no `\b` before the name, its last word is all the pattern needs
    // (`refresh_token`, `api_key` and `client_secret` end in one).
    rules.push(
        rule(
            "generic-api-key",
            "credential after an arrow or a dash following a key-like name",
            concat!(
                r#"(?i)(?:token|secret|key|passwd|password)"#,
                r#"['"`]?[ \t]*(?:->|→|⇒|[ \t][-–—])[ \t]*['"`]?"#,
                r#"(?P<secret>[A-Za-z0-9_\-./+=~]{16,128})"#
            ),
            0.7,
            named_generic,
        )
        .needing(&["->", "→", "⇒", " -", "–", "—"]),
    );
    // A key announced in a sentence that ends in a colon, the value after it or on a line below (`Token
    // generated:`, `Copy your secret now, it won't be shown again: …`): a generated value only.
    rules.push(
        rule(
            "generic-api-key",
            "credential announced by a sentence naming it",
            concat!(
                r#"(?i)\b(?:api[ _-]?key|token|secret|key)(?:[ \t,]+[a-z'’]+){1,8}[ \t]*:[ \t]*"#,
                r#"(?:\r?\n[ \t]*){0,3}['"`]?(?P<secret>[A-Za-z0-9_\-+=~]{20,128})"#
            ),
            0.7,
            named_generic,
        )
        .needing(&["token", "secret", "key"]),
    );
    // A hash's salt or pepper (`SALT=…`, `HASH_SALT='…'`, `app.security.pepper=…`): with it, a leaked
    // password hash can be cracked offline. Only with an assignment and a generated value (`salt = 2 tsp`
    // and `salt: sea salt` are recipes).
    rules.push(
        rule(
            "generic-api-key",
            "secret salt or pepper assigned to its name",
            concat!(
                r#"(?i)(?:salt|pepper)(?:[_.-]?(?:key|secret|value|string))?['"]?\]?"#,
                r#"\s*(?:[:=]{1,4}|=>)\s*['"`]?(?P<secret>[A-Za-z0-9_\-./+=~$]{16,128})"#
            ),
            0.7,
            named_generic,
        )
        .needing(&["salt", "pepper"]),
    );
    // The name and the value as two fields of one entry: .NET's `<add key="ApiSecret" value="…"/>`, a
    // Kubernetes env list's `- name: API_TOKEN` / `value: …`, `{"name": "DB_PASSWORD", "value": "…"}`.
    rules.push(
        rule(
            "generic-api-key",
            "credential in a name/value pair",
            concat!(
                r#"(?i)\b(?:key|name)["']?\s*[=:]\s*["']?[\w.-]*(?:key|secret|token|passw(?:or)?d|pwd|auth|credential)[\w.-]*["']?"#,
                r#"\s*,?\s*(?:-\s*)?["']?value["']?\s*[=:]\s*["']?(?P<secret>[^\s"'<>]{8,128})"#
            ),
            0.75,
            |text, range| {
                if not_secret_word_before(text, range.start) {
                    return None;
                }
                generated_or_password(text, range)
            },
        )
        .needing(&["value"]),
    );
    // A Terraform variable's default: `variable "api_token" {` … `default = "…"` (its description, type
    // and `sensitive = true` may come between).
    rules.push(
        rule(
            "generic-api-key",
            "credential as a Terraform variable's default",
            concat!(
                r#"(?i)\bvariable\s+"(?:[\w-]*(?:key|secret|token|passw(?:or)?d|pwd|auth|credential)[\w-]*)"\s*\{"#,
                r#"[^{}]{0,400}?\bdefault\s*=\s*"(?P<secret>[^\s"]{8,128})""#
            ),
            0.75,
            |text, range| {
                let head = &text[..range.start];
                let name = head[head.rfind("variable")?..].split('"').nth(1)?;
                if not_secret_name(name) {
                    return None;
                }
                generated_or_password(text, range)
            },
        )
        .needing(&["default"]),
    );
    let (other_words, password_names) = (other_password_words(None), password_gate());
    let (ascii_words, unicode_words) = (
        other_password_words(Some(true)),
        other_password_words(Some(false)),
    );
    // Passwords are shorter and less random than tokens: 8 to 64 characters after a password-like name
    // (`password`, `DB_PASSWORD`, `dbPassword`, `pwd`).
    rules.push(rule(
        "password",
        "password assigned to a password-like name",
        // `login with password X`: with no `=` or `is`, the validator's three character classes decide.
        // Code and markup tie the name in more ways: `cfg["password"] = …`, a call's `define('DB_PASSWORD',
        // '…')`, an XML element `<password>…</password>` or attribute `<entry key="db.password">…`.
        // Other languages' words for it too (`Passwort:`, `Mot de passe :`, `contraseña`, `senha`, `密码：`)
        // and for `is` (`Das Passwort lautet …`, `La contraseña es …`), a
        // dash or an arrow between (`Temporary password - …`, `password → …`), and the markup a model's
        // answer wraps a label in (`**Password:** …`, `<b>Password</b>: …`).
        &format!(
            r#"(?i)(?:(?:password|passwd|passphrase|\bpwd|_pwd|\bpass|_pass|\bpw|\brequirepass|\bmasterauth|{ascii_words})(?:__|\b)|{unicode_words})['"]?\]?{LABEL_MARKUP}{DECLARED_TYPE}(?:\s*(?:[:=：]{{1,3}}|=>|->|→|!==?|\b(?:is|ist|lautet|est|es|är|er|jest|je)\b:?|(?:é|è)[ \t:]|是|为|は|는|은|,)|[ \t]+[-–—]|>|[ \t])(?:\*\*|__)?\s*['"`]?(?P<secret>[^\s'"`<>]{{8,64}})"#
        ),
        0.75,
        password,
    )
    .needing(&password_names));
    // A form or a PDF's text puts the label on a line of its own and the value alone on the next. The
    // pattern starts at the word (a literal to search for); the validator checks the line holds nothing else.
    rules.push(
        rule(
            "password",
            "password alone on the line under its label",
            &format!(
                r#"(?im)(?:password|passwd|passphrase|pwd|{other_words})[ \t]*:?[ \t]*\r?\n[ \t]*(?P<secret>[^\s'"`<>]{{8,64}})[ \t]*\r?$"#
            ),
            0.75,
            |text, range| {
                let label_line = text[..range.start].trim_end().rsplit('\n').next()?;
                is_password_label(label_line).then(|| password(text, range)).flatten()
            },
        )
        .needing(&password_names),
    );
    // A table's password column (CSV, TSV, Markdown: `user,password` / `admin,…`): found by its header
    // cell, then each value below it is read under that header, as pii reads `ssn` above a column of
    // numbers (a pattern for every cell matched most of a long log's bytes).
    rules.push(
        built_in(
            "password",
            "password in a table's password column",
            &format!(
                r#"(?i)(?:password|passwd|pwd|pass|passphrase|{other_words})["']?[ \t]*(?:[,;\t|]|\r?\n)"#
            ),
            0.75,
            Check::Column(password_column),
        )
        .needing(&password_names),
    );
    // `the password for the vpn is X` ([`WHAT_IT_OPENS_THEN_IS`]). A rule of its own, kept off texts without
    // the phrase's opening words: as an alternative of the rule above it was searched in every text with
    // `pw` or `pass`.
    rules.push(
        rule(
            "password",
            "password told as what it opens, then `is`",
            &format!(
                r#"(?i)\bpass(?:word|phrase){WHAT_IT_OPENS_THEN_IS}(?P<secret>[^\s'"`<>]{{8,64}})"#
            ),
            0.75,
            password,
        )
        .needing(&[
            "password for",
            "password to",
            "password of",
            "password on",
            "passphrase for",
            "passphrase to",
            "passphrase of",
            "passphrase on",
        ]),
    );
    // The same phrase for a key or a token: `the API key for the staging server is X`. A generated value
    // (the generic rule's test), since `the key to this is consistency` has the same shape.
    rules.push(
        rule(
            "generic-api-key",
            "credential told as what it opens, then `is`",
            &format!(concat!(
                r#"(?i)\b(?:api[ \t_-]?key|access[ \t_-]?key|secret[ \t_-]?key|(?:api|access|auth|bearer)[ \t_-]?token|token|secret)"#,
                r#"{opens}(?P<secret>[A-Za-z0-9_\-./+=~]{{16,128}})"#
            ), opens = WHAT_IT_OPENS_THEN_IS),
            0.7,
            named_generic,
        )
        .needing(&[
            "key for", "key to", "key of", "key on", "token for", "token to", "token of", "token on",
            "secret for", "secret to", "secret of", "secret on",
        ]),
    );
    // MySQL's clients take the password glued to `-p` (`mysql -u root -pS3cret!`; `-p dbname` prompts
    // for it, and `-P3306` is the port).
    rules.push(
        rule(
            "password",
            "password on a MySQL client's command line",
            r#"(?i:\bmysql(?:dump|admin|import|check|sh)?\b)[^\n|;&]{0,200}?(?-i:\s-p)(?P<secret>[^\s'"`]{8,64})"#,
            0.8,
            password,
        )
        .needing(&["mysql"]),
    );
    // Other clients that take a password as an argument: `sshpass -p …`, `redis-cli -a …`, and the
    // registries' `docker login -p …` (only after `login`: `docker run -p 8080:80` publishes a port).
    rules.push(
        rule(
            "password",
            "password on a client's command line",
            concat!(
                r#"(?i:\bsshpass\b[^\n|;&]{0,100}?\s-p|\bredis-cli\b[^\n|;&]{0,200}?\s-a|"#,
                r#"\b(?:docker|podman|nerdctl|buildah|helm\s+registry)\s+login\b[^\n|;&]{0,200}?\s(?:-p|--password)(?:\s+|=))"#,
                r#"\s*['"]?(?P<secret>[^\s'"`]{8,64})"#
            ),
            0.8,
            password,
        )
        .needing(&["sshpass", "redis-cli", " login"]),
    );
    // System tools that set or pass a password as an argument: Windows' `net user ann … /add`, `echo '…' |
    // sudo -S`, PowerShell's `ConvertTo-SecureString '…' -AsPlainText`, `htpasswd -b file user …`. Each
    // with what ends it, so an `echo` of anything else, or `net user ann /delete`, is not one. A variable
    // (`$env:PASS`) or `*` (prompt for it) is no password.
    let command_lines: [(&str, &str, &'static str); 4] = [
        (
            r"(?i:\bnet\s+user\s+[^\s/]+\s+)",
            r"(?:\s+/(?i:add|domain)\b|\s*$|\s*[\r\n;&|<>])",
            "net user",
        ),
        (
            r"\becho\s+(?:-n\s+)?",
            r"\s*\|\s*sudo\s+(?:-\w+\s+)*-S\b",
            "sudo",
        ),
        (
            r"(?i:\bConvertTo-SecureString\s+(?:-String\s+)?)",
            r"\s+(?i:-AsPlainText)\b",
            "securestring",
        ),
        (
            r"(?i:\bhtpasswd\s+(?:-[a-z]+\s+)*-[a-z]*b[a-z]*\s+(?:-[a-z]+\s+)*(?:[^\s-]\S*\s+){1,2})",
            r"(?:\s*$|\s*[\r\n;&|<>])",
            "htpasswd",
        ),
    ];
    rules.extend(command_lines.map(|(before, after, word)| {
        let pattern =
            format!(r#"{before}['"]?(?P<secret>[^\s'"`$*/|][^\s'"`|]{{7,63}})['"]?{after}"#);
        rule(
            "password",
            "password on a system tool's command line",
            &pattern,
            0.8,
            password,
        )
        .needing(&[word])
    }));
    // HTTP basic auth handed to a client library as a pair: Python requests' `auth=('ann', '…')`,
    // `HTTPBasicAuth("ann", "…")`, `BasicAuth(login="ann", password="…")` is the assignment rule's.
    rules.push(
        rule(
            "password",
            "password in a basic-auth pair",
            r#"(?:\bauth\s*=\s*\(|\bHTTP(?:Basic|Digest)Auth\s*\()\s*['"][^'"\n]{1,64}['"]\s*,\s*['"](?P<secret>[^'"\s]{8,64})['"]\s*\)"#,
            0.8,
            |text, range| password(text, range.clone()).or_else(|| generic(text, range)),
        )
        .needing(&["auth"]),
    );
    // A user and a password told as a pair after a word for credentials, as tickets and chats write them:
    // `creds -> admin / …`, `login: ann / …`, `username/password: svc / …`.
    rules.push(
        rule(
            "password",
            "password in a user / password pair",
            r#"(?i)\b(?:creds|credentials|logins?|user(?:name)?/pass(?:word)?|u/p)\b\s*(?:->|=>|[:=]|\bis\b|\bare\b)?\s*[^\s/:]{1,64}\s+/\s+(?P<secret>[^\s'"`<>]{8,64})"#,
            0.75,
            password,
        )
        .needing(&["cred", "login", "user/", "name/pass", "u/p"]),
    );
    // A session in a `Cookie` or `Set-Cookie` header: whoever holds it is logged in as its user.
    // Only cookies named for a session or a token (`sessionid`, `connect.sid`, `PHPSESSID`, `remember_token`,
    // `next-auth.session-token`), with a generated value.
    rules.push(
        rule(
            "generic-api-key",
            "session cookie in a Cookie header",
            r#"(?i)\b(?:set-)?cookie:[^\n]*?[\w.-]*(?:sess(?:ion)?(?:id)?|sid|auth|token)[\w.-]*=(?P<secret>[^;\s,"']{16,512})"#,
            0.8,
            |text, range| {
                // Cookie values are URL-encoded: `s%3A…` is `s:…`.
                let value = &text[range.clone()];
                let decoded = value.replace("%3A", ":").replace("%3a", ":");
                let has_digit = decoded.bytes().any(|b| b.is_ascii_digit());
                let has_alpha = decoded.bytes().any(|b| b.is_ascii_alphabetic());
                (has_digit && has_alpha && !placeholder(value) && entropy(&decoded) >= 3.3)
                    .then_some(range)
            },
        )
        .needing(&["cookie:"]),
    );
    // A credential typed by hand under a password's, secret's or key's name, with characters no token has
    // (`apikey: m{{h}o)p$…`, `db_pass := A,.:-¨@*¿?!`, `char secret[25] = @"…"`): the generic rule's
    // alphabet stops at the first of them, so the password validator judges the whole value.
    rules.push(
        rule(
            "password",
            "hand-typed credential assigned to a credential's name",
            concat!(
                // No boundary in front of the alternation: it would cost the regex its literal prefilter.
                r#"(?i)(?:api[_-]?key|secrete?|private[_-]?key|\bpass(?:w(?:or)?d|phrase)?|_pass(?:w(?:or)?d|phrase)?|pwd)"#,
                r#"(?:[_.-][a-z0-9]+){0,3}(?:\[\d*\])?['"]?\s*(?:[:=]{1,3}|=>|!==?)\s*@?['"`]?"#,
                r#"(?P<secret>[^\s'"`<>]{8,64})"#
            ),
            0.75,
            |text, range| {
                // `:` joins generated parts (`id:secret`, `host:port`); it does not make a value typed.
                let typed = text[range.clone()]
                    .trim_end_matches(['.', ',', ';', ')'])
                    .contains(|c: char| !(c.is_ascii_alphanumeric() || "_-./+=~:".contains(c)));
                (typed && !named_not_secret(text, range.start))
                    .then(|| password(text, range))
                    .flatten()
            },
        )
        .needing(&["key", "secret", "pass", "pwd"]),
    );
    // The same, told the other way round: `we use … as the API key`, `… is our staging token`. The regex
    // finds the naming phrase (cheap: it starts with a literal); the value is the token right before it.
    rules.push(rule(
        "generic-api-key",
        "credential named as one right after it",
        concat!(
            r#"(?i)['"`]?[ \t]+(?:as|is)[ \t]+(?:the|our|my|an?|their)[ \t]+(?:[a-z0-9_-]+[ \t]+){0,2}"#,
            r#"(?:api[ _-]?key|token|secret|password|credentials?|access[ \t]+key|secret[ \t]+key)\b"#
        ),
        0.7,
        value_before,
    )
    .needing(&["api", "token", "secret", "password", "credential", "access"]));
    // A literal compared with a credential's variable: `if ("…" == password)`, `if (api_key === "…")`.
    rules.push(
        rule(
            "password",
            "literal compared with a credential",
            concat!(
                r#"(?i)["'`](?P<secret>[^"'`\s]{8,64})["'`]\s*[!=]==?\s*[a-z0-9_.]*"#,
                r#"(?:passw(?:or)?d|passwd|secret|api_?key|token|private_key)\b"#
            ),
            0.75,
            |text, range| password(text, range.clone()).or_else(|| generic(text, range)),
        )
        .needing(&["==", "!="]),
    );
    rules
}

/// The word for a password in other languages (German, French, Spanish, Portuguese, Dutch, Polish,
/// Swedish, Finnish, Danish, Norwegian and those below) and a passcode, each once: as the patterns match it (any spelling),
/// as a table's header writes it ([`squeezed`]), and what the keyword gate looks for — an ASCII-case search,
/// so `contrase` finds `contraseña` and `senord` finds `lösenord`; `pass` those that hold it.
const OTHER_PASSWORD_WORDS: &[(&str, &[&str], &[&str])] = &[
    ("passwort", &["passwort"], &["pass"]),
    ("mot de passe", &["motdepasse"], &["pass"]),
    (
        "contrase(?:ñ|n)a",
        &["contraseña", "contrasena"],
        &["contrase"],
    ),
    ("senha", &["senha"], &["senha"]),
    ("wachtwoord", &["wachtwoord"], &["wachtwoord"]),
    ("has(?:ł|l)o", &["hasło", "haslo"], &["hasło", "haslo"]),
    ("l(?:ö|o)senord", &["lösenord", "losenord"], &["senord"]),
    ("salasana", &["salasana"], &["salasana"]),
    ("adgangskode", &["adgangskode"], &["adgangskode"]),
    ("passord", &["passord"], &["pass"]),
    ("passcode", &["passcode"], &["pass"]),
    // Russian, Turkish, Czech and Slovak, Hungarian, Japanese, Chinese, Korean. A capital outside ASCII
    // is not folded by the gate's search: it looks for the rest of the word.
    ("пароль", &["пароль"], &["ароль"]),
    ("(?:ş|s)ifre", &["şifre", "sifre"], &["ifre"]),
    ("heslo", &["heslo"], &["heslo"]),
    ("jelsz(?:ó|o)", &["jelszó", "jelszo"], &["jelsz"]),
    ("パスワード", &["パスワード"], &["パスワード"]),
    ("密码|密碼", &["密码", "密碼"], &["密码", "密碼"]),
    ("비밀번호", &["비밀번호"], &["비밀번호"]),
];

/// [`OTHER_PASSWORD_WORDS`] as alternatives of a pattern: all of them, or only those that end in an ASCII
/// letter (`Some(true)`: the rules' `\b` is ASCII's, so it never follows `пароль` or `密码`) or only the
/// others (`Some(false)`).
fn other_password_words(ascii_end: Option<bool>) -> String {
    let ends_in_ascii = |headers: &[&str]| {
        headers
            .iter()
            .all(|h| h.chars().last().is_some_and(|c| c.is_ascii_alphabetic()))
    };
    let patterns: Vec<&str> = OTHER_PASSWORD_WORDS
        .iter()
        .filter(|(_, headers, _)| ascii_end.is_none_or(|ascii| ends_in_ascii(headers) == ascii))
        .map(|(pattern, _, _)| *pattern)
        .collect();
    patterns.join("|")
}

/// How a table's header ends when its column holds passwords ([`squeezed`]): English names, then
/// [`OTHER_PASSWORD_WORDS`].
fn password_headers() -> impl Iterator<Item = &'static str> {
    let english = ["password", "passwd", "pwd", "pass", "pw", "passphrase"];
    english.into_iter().chain(
        OTHER_PASSWORD_WORDS
            .iter()
            .flat_map(|(_, headers, _)| headers.iter().copied()),
    )
}

/// What a text needs to be searched for a password under one of its names: the English ones (`pass`
/// holds `passwd`, `passphrase`, `requirepass`), Redis's `masterauth`, and the gate words of
/// [`OTHER_PASSWORD_WORDS`].
fn password_gate() -> Vec<&'static str> {
    let mut gate = vec!["pass", "masterauth", "pwd", "pw"];
    for word in OTHER_PASSWORD_WORDS
        .iter()
        .flat_map(|(_, _, gate)| gate.iter().copied())
    {
        if !gate.contains(&word) {
            gate.push(word);
        }
    }
    gate
}

/// Whether a line holds only a password's label (`Password`, `  PASSWORD:`, `Mot de passe :`).
fn is_password_label(line: &str) -> bool {
    let label = squeezed(line);
    password_headers().any(|name| name == label)
}

/// A label's letters and digits, lowercase: `Admin Password:` is `adminpassword`.
fn squeezed(label: &str) -> String {
    label
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The passwords in the column under the header cell ending at `header`, when its line starts a table:
/// in each later line of the table (lines with as many of the header's delimiter), the cell that
/// [`palisade_sdk::tables::column_header`] reads under a header naming a password. Each table is walked
/// once for each header cell that names a password.
fn password_column(text: &str, header: Range<usize>) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    let line_start = text[..header.start].rfind('\n').map_or(0, |i| i + 1);
    let Some(first) = text[header.start..]
        .find('\n')
        .map(|i| header.start + i + 1)
    else {
        return found;
    };
    let header_line = &text[line_start..first];
    let Some(delimiter) = palisade_sdk::tables::delimiter(header_line) else {
        return found;
    };
    // A header starts its table: the line above holds another number of delimiters. (A row that holds
    // the word — `pass,` in a column of results — would otherwise walk the rest of the table again.)
    let above = text[..line_start.saturating_sub(1)]
        .rsplit('\n')
        .next()
        .filter(|_| line_start > 0);
    let count = |line: &str| line.matches(delimiter).count();
    if above.is_some_and(|above| count(above) == count(header_line)) {
        return found;
    }
    let mut at = first;
    for line in text[first..].split('\n') {
        let start = at;
        at += line.len() + 1;
        if count(line) != count(header_line) {
            break;
        }
        let mut cell_start = start;
        for cell in line.split(delimiter) {
            let value = cell.trim_matches([' ', '\t', '"', '\r']);
            let value_start = cell_start + cell.find(value).unwrap_or(0);
            cell_start += cell.len() + 1;
            if value.len() < 8 || value.len() > 64 {
                continue;
            }
            // The header names a password, last: `password`, `db_pass`, `Admin Password` — not
            // `password_changed_at`, `password_policy`, `pass/fail` or `Passenger`.
            let under_password = palisade_sdk::tables::column_header(text, value_start)
                .is_some_and(|header| {
                    let header = squeezed(header);
                    password_headers().any(|name| header.ends_with(name))
                });
            if under_password {
                found.extend(password(text, value_start..value_start + value.len()));
            }
        }
    }
    found
}

/// The alternation that finds a provider's name where a variable name holds it: after a non-letter
/// (`DATADOG_KEY`, `datadog.key`, `$datadogKey`) or as a camel-case word (`myDatadogKey`). A short name must
/// be written in one case (`sumo`, `SUMO`, `Sumo`): `sumOfSquares` and `rookTable` are nobody's credentials.
fn provider_names(names: &[&str]) -> String {
    let esc = |s: &str| regex_syntax::escape(s);
    let mut alternatives = Vec::new();
    for name in names {
        let (first, rest) = name.split_at(1);
        let capitalized = first.to_uppercase() + rest;
        let (spelled, camel_rest) = if name.len() >= 6 {
            (format!("(?i:{})", esc(name)), format!("(?i:{})", esc(rest)))
        } else {
            let one_case = [name.to_string(), name.to_uppercase(), capitalized.clone()];
            let one_case: Vec<String> = one_case.iter().map(|n| esc(n)).collect();
            (
                format!("(?-i:{})", one_case.join("|")),
                format!("(?-i:{})", esc(rest)),
            )
        };
        alternatives.push(format!("(?:(?m:^)|[^A-Za-z]){spelled}"));
        alternatives.push(format!(
            "(?-i:[a-z]{}){camel_rest}",
            esc(&first.to_uppercase())
        ));
    }
    alternatives.join("|")
}

/// The literals every match of `pattern` starts with, exactly as the pattern accepts them, when there are
/// few enough to be worth a search; none otherwise (a pattern starting with a class or a repetition).
fn prefixes(pattern: &str) -> Needs {
    let words = regex_syntax::parse(pattern)
        .ok()
        .and_then(|hir| {
            let found = Extractor::new().extract(&hir);
            let literals = found.literals()?;
            (!literals.is_empty() && literals.iter().all(|l| l.len() >= 2))
                .then(|| literals.iter().map(|l| l.as_bytes().to_vec()).collect())
        })
        .unwrap_or_default();
    Needs {
        words,
        any_case: false,
    }
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// A PEM block with a key in it: documentation's `-----BEGIN PRIVATE KEY-----\n...\n-----END…` and an empty
/// block are not keys. The smallest real one (an Ed25519 key) holds 64 base64 characters.
fn private_key(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let block = &text[range.clone()];
    let body = &block[block[5..].find("-----")? + 10..];
    let key_chars = body
        .bytes()
        .take_while(|&b| b != b'-')
        .filter(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
        .count();
    (key_chars >= 64).then_some(range)
}

/// A value under a credential's name that is either a generated token ([`generic`]) or a password
/// ([`password`]): a name/value pair's or a Terraform default's name says credential, not which.
fn generated_or_password(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    generic(text, range.clone()).or_else(|| password(text, range))
}

/// A PEM block encoded in base64 whose `BEGIN` line names a private key, with a key's worth under it.
fn base64_private_key(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let value = &text[range.clone()];
    let head = &value[..value.len().min(96) / 4 * 4];
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(head)
        .ok()?;
    let decoded = String::from_utf8_lossy(&decoded);
    let begin = decoded.split("-----").nth(1)?;
    // A key's worth: the smallest PEM, an Ed25519 key's, is about 160 characters in base64.
    (begin.starts_with("BEGIN") && begin.ends_with("PRIVATE KEY") && value.len() >= 150)
        .then_some(range)
}

/// A PuTTY key file read on from its `Private-Lines: N`: the N lines of base64 under it (fewer if it is cut
/// off) and the `Private-MAC` line after them. At least an Ed25519 key's 48 characters make a key.
fn putty_private_key(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let lines: usize = text[..range.end].rsplit(' ').next()?.parse().ok()?;
    // The line after `at`, as written or JSON-escaped: where its content starts and ends.
    let next_line = |at: usize| {
        let rest = &text[at..];
        let newline = ["\r\n", "\n", "\\r\\n", "\\n"]
            .into_iter()
            .find(|newline| rest.starts_with(newline))?;
        let start = at + newline.len();
        let len = text[start..]
            .find(['\r', '\n', '\\'])
            .unwrap_or(text.len() - start);
        Some(start..start + len)
    };
    let base64 = |b: u8| b.is_ascii_alphanumeric() || b"+/=".contains(&b);
    let (mut end, mut key_chars) = (range.end, 0);
    for _ in 0..lines {
        match next_line(end) {
            Some(line) if !line.is_empty() && text[line.clone()].bytes().all(base64) => {
                key_chars += line.len();
                end = line.end;
            }
            _ => break,
        }
    }
    if let Some(line) = next_line(end) {
        let mac = ["Private-MAC: ", "Private-Hash: "]
            .into_iter()
            .find(|label| text[line.clone()].starts_with(label));
        if let Some(label) = mac {
            let hex_start = line.start + label.len();
            end = hex_start
                + text[hex_start..]
                    .bytes()
                    .take_while(u8::is_ascii_hexdigit)
                    .count();
        }
    }
    (key_chars >= 48).then_some(range.start..end)
}

/// Documentation's and templates' stand-ins (a [`templated`] value among them): never a live credential.
fn placeholder(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    const WORDS: &[&str] = &[
        "example",
        "your",
        "xxxx",
        "placeholder",
        "changeme",
        "change_me",
        "dummy",
        "redacted",
        "sample",
        "****",
        "<",
        "insert",
        "replace",
        "1234567890",
        "abcdef",
    ];
    WORDS.iter().any(|w| lower.contains(w))
        || templated(value)
        || ascending_run(&lower) >= 6
        || PUBLISHED_EXAMPLES.iter().any(|k| value.contains(k))
        || pseudonym(value)
}

/// A stand-in an earlier plugin's `pseudonymize` wrote for a value it found: its category, `_` and ten
/// hex digits (`EMAIL_ADDRESS_98ed748b2e`). After `pw - ` or `password: ` it is not a password: the
/// value behind it was not one either (the chain's own rewrite must not turn an address into a SECRET).
fn pseudonym(value: &str) -> bool {
    value.rsplit_once('_').is_some_and(|(category, hex)| {
        hex.len() == 10
            && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            && !category.is_empty()
            && category
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b == b'_')
    })
}

/// Real-looking keys published as examples in public code, so known to everyone: the Google API keys of
/// the Firebase Android SDK's test projects (gitleaks allows them by value too).
const PUBLISHED_EXAMPLES: &[&str] = &[
    "AIzaSyAnLA7NfeLquW1tJFpx_eQCxoX-oo6YyIs",
    "AIzaSyCkEhVjf3pduRDt6d1yKOMitrUEke8agEM",
    "AIzaSyDMAScliyLx7F0NPDEJi1QmyCgHIAODrlU",
    "AIzaSyD3asb-2pEZVqMkmL6M9N6nHZRR_znhrh0",
    "AIzayDNSXIbFmlXbIE6mCzDLQAqITYefhixbX4A",
    "AIzaSyAdOS2zB6NCsk1pCdZ4-P6GBdi_UUPwX7c",
    "AIzaSyASWm6HmTMdYWpgMnjRBjxcQ9CKctWmLd4",
    "AIzaSyANUvH9H9BsUccjsu2pCmEkOPjjaXeDQgY",
    "AIzaSyA5_iVawFQ8ABuTZNUdcwERLJv_a_p4wtM",
    "AIzaSyA4UrcGxgwQFTfaI3no3t7Lt1sjmdnP5sQ",
    "AIzaSyDSb51JiIcB6OJpwwMicseKRhhrOq1cS7g",
    "AIzaSyBF2RrAIm4a0mO64EShQfqfd2AFnzAvvuU",
    "AIzaSyBcE-OOIbhjyR83gm4r2MFCu4MJmprNXsw",
    "AIzaSyB8qGxt4ec15vitgn44duC5ucxaOi4FmqE",
    "AIzaSyA8vmApnrHNFE0bApF4hoZ11srVL_n0nvY",
];

/// The longest run of letters or digits each one after the last (`klmnop`, `345678`): typed by hand, never
/// generated (a random token has one of six in a row with odds near one in a billion).
fn ascending_run(lower: &str) -> usize {
    let bytes = lower.as_bytes();
    let (mut longest, mut run) = (1, 1);
    for pair in bytes.windows(2) {
        run = if pair[1] == pair[0] + 1
            && pair[0].is_ascii_alphanumeric()
            && pair[1].is_ascii_alphanumeric()
        {
            run + 1
        } else {
            1
        };
        longest = longest.max(run);
    }
    longest
}

/// Shannon entropy in bits per character.
fn entropy(value: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in value.bytes() {
        counts[b as usize] += 1;
    }
    let n = value.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| f64::from(c) / n)
        .map(|p| -p * p.log2())
        .sum()
}

fn provider(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    (!placeholder(&text[range.clone()])).then_some(range)
}

/// A provider token with its prefix: not a placeholder, and with a generated value's variety (a long run of
/// one letter after a real prefix is a redaction or a template, not a key).
fn high_entropy(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let value = &text[range.clone()];
    let ends = !text[range.end..].starts_with(|c: char| is_word(c) || c == '-');
    (ends && !placeholder(value) && entropy(value) >= 3.0).then_some(range)
}

/// `Authorization: Basic …` is a credential when the base64 decodes to `user:password`.
fn basic_auth(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&text[range.clone()])
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    (!user.is_empty() && !password.is_empty() && !placeholder(password)).then_some(range)
}

/// `curl -u user:password`: a real password (or, `-u key:`, a key as the user), not a variable or a stand-in.
fn curl_user(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let unquoted: String = text[range.clone()]
        .chars()
        .filter(|c| !matches!(c, '"' | '\''))
        .collect();
    let (user, password) = unquoted.split_once(':')?;
    // `<user>:<password>`, `[token]` are stand-ins; a user already redacted (`[EMAIL_ADDRESS]:pQ9w…`, by
    // `pii` earlier in the chain) still has a real password after it.
    let real = |part: &str| {
        part.len() >= 8
            && char_classes(part) >= 2
            && !placeholder(part)
            && !part.contains(['<', '>', '['])
    };
    let secret = if password.is_empty() {
        real(user)
    } else {
        real(password) && !templated(user) && !user.contains(['<', '>'])
    };
    secret.then_some(range)
}

/// `curl -H "Authorization: Bearer …"`: a value, not a variable (`$API_KEY`), a command (`$(gcloud …)`) or
/// a stand-in (`XXXXXXXX`, `**********`, `<token>`, `...`).
fn curl_header(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let value = text[range.clone()].trim_end_matches(['.', ',']);
    let range = range.start..range.start + value.len();
    let elided = value.len() < 8 || text[range.end..].starts_with("..");
    (!elided && !placeholder(value) && entropy(value) >= 2.75).then_some(range)
}

/// A Discord bot token whose first part decodes to a Discord id (a snowflake: 17 to 20 digits; most of
/// them, as copies are sometimes mangled).
fn discord_bot_token(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let id = text[range.clone()].split('.').next()?;
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(id.trim_end_matches('='))
        .ok()?;
    let digits = decoded.iter().filter(|b| b.is_ascii_digit()).count();
    // The id is a decimal number: it starts with two digits, which base64 writes as `M`, `N` or `O`
    // then `D`, `T`, `j` or `z` — the rule's keywords. A few of the rest may be garbled in test tokens.
    let snowflake = (17..=20).contains(&decoded.len())
        && decoded[..2].iter().all(u8::is_ascii_digit)
        && digits * 4 >= decoded.len() * 3;
    (snowflake && high_entropy(text, range.clone()).is_some()).then_some(range)
}

/// A Telegram bot token: the bot's numeric id, a colon, and a 35-character secret starting `AA`.
fn telegram(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let value = text[range.clone()]
        .trim_end_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '-');
    let range = range.start..range.start + value.len();
    high_entropy(text, range)
}

fn connection_string(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    // A URL ends before sentence punctuation.
    let value = text[range.clone()].trim_end_matches(['.', ',', ';', ':', '!', '?', '"']);
    // Go's MySQL driver writes no scheme: `app:pw@tcp(db:3306)/shop`.
    let password = value
        .split_once("://")
        .map_or(value, |(_, rest)| rest)
        .split('@')
        .next()?
        .split_once(':')?
        .1;
    if password.len() < 4 || placeholder(password) || password.eq_ignore_ascii_case("password") {
        return None;
    }
    Some(range.start..range.start + value.len())
}

/// A JDBC URL or an ADO.NET string whose `password=` (or `pwd=`) parameter is a real value.
fn keyed_connection_string(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let value = text[range.clone()].trim_end_matches(['.', ',', ':', '!', '?']);
    // The first `password` or `pwd` followed by `=` (spaces allowed around it: `Pwd = …`).
    let lower = value.to_ascii_lowercase();
    let at = ["password", "pwd"]
        .iter()
        .flat_map(|key| lower.match_indices(key).map(move |(i, _)| i + key.len()))
        .filter_map(|end| {
            let rest = &lower[end..];
            let spaces = rest.len() - rest.trim_start().len();
            rest[spaces..].starts_with('=').then_some(end + spaces + 1)
        })
        .min()?;
    let password = value[at..]
        .trim_start()
        .split(['&', ';'])
        .next()
        .unwrap_or_default();
    if password.len() < 4 || placeholder(password) {
        return None;
    }
    Some(range.start..range.start + value.len())
}

/// A value filled in by a template or a shell, not written: `${DB_PASSWORD}`, `{{ .Values.pw }}`,
/// `%(password)s`, `%DB_PASS%`, `$DB_PASS`, `<%= pw %>`, `#{pw}`. The construct must be well formed: a
/// password typed with braces and dollars in it (`m{{h}o)p${e]nob(…`) is not a template.
fn templated(value: &str) -> bool {
    static TEMPLATE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(concat!(
            // `${NAME}`, `${NAME:-default}`, `${{ secrets.PW }}`, or one cut off where the value ends.
            r"\$\{\{?\s*[A-Za-z_][A-Za-z0-9_.-]*\s*(?:[}:?=|-]|$)",
            // `{{ … }}` with no braces inside, or cut off (`"{{ .Values.pw }}"` read up to its space).
            r"|\{\{(?:[^{}]*\}\}|[^{}]*$)",
            r"|\$\([A-Za-z_(]|%\([A-Za-z_][A-Za-z0-9_]*\)|[%#]\{[A-Za-z_@$]|<%"
        ))
        .expect("the template pattern compiles")
    });
    TEMPLATE.is_match(value)
        || value.starts_with('$')
            && value[1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        || value.len() > 2 && value.starts_with('%') && value.ends_with('%') && {
            // `%DB_PASS%`, `%TestSourcePassword%`: a name, not a random value between two `%`.
            let name = &value[1..value.len() - 1];
            name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && (name.bytes().all(|b| !b.is_ascii_lowercase())
                    || !name.bytes().any(|b| b.is_ascii_digit()))
        }
}

fn jwt(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let header = text[range.clone()].split('.').next()?;
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .ok()?;
    let header = String::from_utf8(decoded).ok()?;
    (header.starts_with('{') && header.contains("\"alg\"")).then_some(range)
}

/// A 40-character base64 run is an AWS secret key only next to AWS context: a key name, or an access key
/// id nearby. Git SHAs and hex digests are lowercase hex and fail the mixed-case test.
fn aws_secret(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let value = &text[range.clone()];
    let mixed = value.bytes().any(|b| b.is_ascii_uppercase())
        && value.bytes().any(|b| b.is_ascii_lowercase())
        && value.bytes().any(|b| b.is_ascii_digit());
    if !mixed || placeholder(value) || entropy(value) < 4.0 {
        return None;
    }
    let window = |from: usize, to: usize| {
        text[text.floor_char_boundary(from)..text.ceil_char_boundary(to.min(text.len()))]
            .to_ascii_lowercase()
    };
    // The name may come before the value (`aws_secret_access_key = …`) or right after it (`… as the AWS
    // secret key`).
    let before = window(range.start.saturating_sub(80), range.start)
        + " "
        + &window(range.end, range.end + 40);
    let around = window(range.start.saturating_sub(300), range.end + 300);
    let named = [
        "aws",
        "secret_access",
        "secretaccess",
        "secret access",
        "secret key",
    ]
    .iter()
    .any(|w| before.contains(w));
    let near_key_id = ["akia", "asia"].iter().any(|w| around.contains(w));
    (named || near_key_id).then_some(range)
}

/// A password: not a placeholder, not a reference to one (`${DB_PASS}`, `os.environ[…]`, `getpass()`), not
/// a plain word, and with at least three of lowercase, uppercase, digits and symbols.
fn password(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    // A sentence's full stop or comma is not part of it; `!` and `?` often are.
    let value = text[range.clone()].trim_end_matches(['.', ',', ';', ')']);
    let range = range.start..range.start + value.len();
    // `%`, `$` and `#` alone are characters a password may have.
    if value.len() < 8
        || placeholder(value)
        || code(value)
        || value.contains("://")
        || value.starts_with('/')
        || value.starts_with("~/")
        || value.eq_ignore_ascii_case("required")
        // `scheme://user:<password>@host`: documentation's stand-in, then the URL's host.
        || value.starts_with('@') && text[..range.start].ends_with('>')
    {
        return None;
    }
    let dotted_name = value.matches('.').count() >= 1
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_');
    // Two kinds of character are enough when one is symbols of three kinds or more (`A,.:-¨@*¿?!`):
    // a name's separators (`-_.`) do not count.
    let mut symbols: Vec<char> = value
        .chars()
        .filter(|c| !c.is_alphanumeric() && !"-_.".contains(*c))
        .collect();
    symbols.sort_unstable();
    symbols.dedup();
    let varied = char_classes(value) >= 3 || char_classes(value) == 2 && symbols.len() >= 3;
    (varied && !dotted_name && entropy(value) >= 2.5).then_some(range)
}

/// Whether a value is code rather than typed: a call or an index (`getenv(`, `os.environ[`, `cfg["pw"]`,
/// `Secret{`), whose brackets open and close in order. Brackets that close out of order
/// (`m{{h}o)p${e]nob(…`) were typed.
fn code(value: &str) -> bool {
    let mut open = Vec::new();
    let mut any = false;
    for c in value.chars() {
        match c {
            '(' | '[' | '{' => {
                any = true;
                open.push(c);
            }
            ')' | ']' | '}' => {
                let opener = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                if open.pop() != Some(opener) {
                    return false;
                }
            }
            _ => {}
        }
    }
    any
}

/// How many of lowercase letters, capitals, digits and other characters `value` has.
fn char_classes(value: &str) -> usize {
    let b = value.as_bytes();
    [
        b.iter().any(u8::is_ascii_lowercase),
        b.iter().any(u8::is_ascii_uppercase),
        b.iter().any(u8::is_ascii_digit),
        b.iter().any(|c| !c.is_ascii_alphanumeric()),
    ]
    .into_iter()
    .filter(|&c| c)
    .count()
}

/// The line before byte `start`, at most `width` bytes of it.
fn line_before(text: &str, start: usize, width: usize) -> &str {
    let head = &text[text.floor_char_boundary(start.saturating_sub(width))..start];
    head.rsplit('\n').next().unwrap_or(head)
}

/// Names of values that are not secrets, though they look like them.
const NOT_SECRET: &[&str] = &[
    "public",
    "publishable",
    "primary",
    "foreign",
    "csrf",
    "xsrf",
    "authenticity",
    "nonce",
    // An Azure Key Vault's name or id (`keyVaultToStoreSecrets`), not what it stores.
    "keyvault",
];

/// Whether the line before `start` names the value as one of [`NOT_SECRET`] (a name/value pair's
/// `name="authenticity_token" value="…"`).
fn not_secret_word_before(text: &str, start: usize) -> bool {
    let line = line_before(text, start, 120).to_ascii_lowercase();
    NOT_SECRET.iter().any(|w| line.contains(w))
}

/// A generated value ([`generic`]) under a name that does not say it is no secret ([`named_not_secret`]).
fn named_generic(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    (!named_not_secret(text, range.start))
        .then(|| generic(text, range))
        .flatten()
}

/// Whether the name a value is assigned to says it is not a secret: a public, primary or foreign key, a
/// CSRF token or a nonce, an id, a name, a size (`public_key = …`, `primaryKey==…`, `csrf-token=…`,
/// `secret_name: …`, `key_id = …`, `<UserSecretsId>`). A `secret_id` (Vault's AppRole) is a secret.
fn named_not_secret(text: &str, value_start: usize) -> bool {
    let name = line_before(text, value_start, 80)
        .trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
        .rsplit(|c: char| !(c.is_ascii_alphanumeric() || "_-.".contains(c)))
        .next()
        .unwrap_or_default();
    not_secret_name(name)
}

/// Whether `name` says its value is not a secret (see [`named_not_secret`]).
fn not_secret_name(name: &str) -> bool {
    let name: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    const SUFFIXES: &[&str] = &[
        "id", "ids", "name", "names", "type", "length", "size", "path", "file", "url", "uri",
        "version", "count", "format", "prefix", "alias",
    ];
    let secret_id = name.ends_with("secretid") || name.ends_with("passwordid");
    NOT_SECRET.iter().any(|w| name.contains(w))
        || !secret_id && SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// For a naming phrase at `range` (`as the API key`), the token right before it, if it looks generated.
fn url_password(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let password = &text[range.clone()];
    if text[..range.start].ends_with("://") {
        // No password: the user is the credential only when it is a token.
        return (palisade_sdk::token_as_user(password) && !placeholder(password)).then_some(range);
    }
    // `host:8080@` is a port in a malformed URL, not a password.
    let port_like = password.len() <= 5 && password.bytes().all(|b| b.is_ascii_digit());
    if password.len() < 4
        || port_like
        || placeholder(password)
        || password.eq_ignore_ascii_case("password")
    {
        return None;
    }
    Some(range)
}

/// A value of a provider's shape under the provider's name: not a placeholder, and generated-looking — a
/// lowercase-only value shorter than 30 characters needs a digit (`"looker_client_id": "integrationtests"`
/// is a word, not an id).
fn keyed_value(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let value = &text[range.clone()];
    let has_digit = value.bytes().any(|b| b.is_ascii_digit());
    let mixed_case = value.bytes().any(|b| b.is_ascii_uppercase())
        && value.bytes().any(|b| b.is_ascii_lowercase());
    let generated = has_digit || mixed_case || value.len() >= 30;
    // Digits alone carry less entropy per character: an 18-digit random id measures about 3.
    let least = if value.bytes().all(|b| b.is_ascii_digit()) {
        2.5
    } else {
        2.8
    };
    (generated && !placeholder(value) && entropy(value) >= least).then_some(range)
}

fn value_before(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let head = &text[..range.start];
    let start = head
        .char_indices()
        .rfind(|&(_, c)| !(c.is_ascii_alphanumeric() || "_-./+=~".contains(c)))
        .map_or(0, |(i, c)| i + c.len_utf8());
    if !(16..=128).contains(&(range.start - start)) {
        return None;
    }
    generic(text, start..range.start)
}

fn generic(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let value = text[range.clone()].trim_end_matches(['.', '=', '-']);
    let range = range.start..range.start + value.len();
    // `ops_eyJzaWduSW5B...`, `xoxp-5723…-####`: an elided or masked value in documentation is not a
    // credential.
    let rest = &text[range.end..];
    let masked = ["##", "**"]
        .iter()
        .any(|m| rest.trim_start_matches('-').starts_with(m));
    let truncated = masked || rest.starts_with("..") || rest.starts_with('…');
    // Stripe's publishable keys are public by design: they ship in every checkout page.
    let publishable = value.starts_with("pk_live_") || value.starts_with("pk_test_");
    if value.len() < 16
        || publishable
        || placeholder(value)
        || truncated
        || text[range.end..].starts_with(|c: char| is_word(c))
    {
        return None;
    }
    // A value needs the variety of a generated token: digits and letters, and enough entropy.
    let has_digit = value.bytes().any(|b| b.is_ascii_digit());
    let has_alpha = value.bytes().any(|b| b.is_ascii_alphabetic());
    if !has_digit || !has_alpha || entropy(value) < 3.3 {
        return None;
    }
    // Paths, URLs and dotted identifiers are not tokens; words joined by `-` or `_` (`user-profile-cache-v2`)
    // are names. Base64 may hold a `/` or two among mixed-case runs.
    // `api-key-YmVk…`: a name going on, not a value after one; no value starts inside a word.
    let glued = text[..range.start].ends_with(|c: char| c.is_ascii_alphanumeric());
    let path = value.starts_with(['/', '.', '~'])
        || value.starts_with("//")
        || value.contains("://")
        || value.contains('/')
            && value.split('/').all(|s| {
                s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b))
            });
    // A number among the words is still a name: `expires_in_seconds_3600`, `retry-after-120`.
    let words = value.contains(['-', '_'])
        && value.split(['-', '_']).all(|s| {
            s.len() <= 3
                || s.bytes().all(|b| b.is_ascii_alphabetic())
                || s.bytes().all(|b| b.is_ascii_digit())
        });
    if glued || path || words || value.matches('.').count() > 1 {
        return None;
    }
    Some(range)
}
