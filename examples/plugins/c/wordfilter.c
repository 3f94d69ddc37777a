// Word filter: a Palisade plugin in C.
//
// Finds the words of a blocklist in a text, as whole words and ignoring ASCII case, and reports each as a
// finding of category PROFANITY with its byte span (C sees the text as the UTF-8 bytes the host counts, so
// spans need no conversion). The bundle's policy decides what happens to them, e.g. `PROFANITY = "redact"`;
// with `"deny": true` any match denies the exchange instead.
//
// Config (the plugin's `config` table in bundle.toml, handed to `configure` as JSON):
//   {"words": ["darn", "heck", "zut alors"], "deny": false}
//
// Bindings: guardrail.h and guardrail.c are generated from wit/ by build.sh. Ownership, as wit-bindgen's
// C generator sets it: an export owns its arguments and frees them; what it returns is malloc'd and freed
// by the generated post-return function once the host has copied it.

#include <stdlib.h>
#include <string.h>

#include "guardrail.h"

typedef struct {
    char *bytes;  // ASCII letters lowercased, other bytes as given
    size_t len;
} word_t;

static word_t *words;
static size_t word_count;
static bool deny_on_match;

// ---- configure: a small JSON reader for {"words": [string, ...], "deny": bool} ----

typedef struct {
    const uint8_t *at, *end;
    const char *error;  // set once; the first error is the one reported
} reader_t;

static void fail(reader_t *r, const char *error) {
    if (!r->error) r->error = error;
}

static void skip_space(reader_t *r) {
    while (r->at < r->end && (*r->at == ' ' || *r->at == '\t' || *r->at == '\n' || *r->at == '\r')) r->at++;
}

static bool eat(reader_t *r, char c) {
    skip_space(r);
    if (r->at < r->end && *r->at == c) {
        r->at++;
        return true;
    }
    return false;
}

static int hex_digit(uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static long read_hex4(reader_t *r) {
    if (r->end - r->at < 4) return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_digit(r->at[i]);
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    r->at += 4;
    return v;
}

static size_t put_utf8(uint8_t *out, unsigned long cp) {
    if (cp < 0x80) { out[0] = cp; return 1; }
    if (cp < 0x800) { out[0] = 0xC0 | (cp >> 6); out[1] = 0x80 | (cp & 0x3F); return 2; }
    if (cp < 0x10000) {
        out[0] = 0xE0 | (cp >> 12); out[1] = 0x80 | ((cp >> 6) & 0x3F); out[2] = 0x80 | (cp & 0x3F);
        return 3;
    }
    out[0] = 0xF0 | (cp >> 18); out[1] = 0x80 | ((cp >> 12) & 0x3F);
    out[2] = 0x80 | ((cp >> 6) & 0x3F); out[3] = 0x80 | (cp & 0x3F);
    return 4;
}

// A JSON string, unescaped, into a fresh buffer (NULL on error). An escape never produces more bytes than
// it takes, so the input's length bounds the output's.
static char *read_string(reader_t *r, size_t *len) {
    if (!eat(r, '"')) { fail(r, "expected a string"); return NULL; }
    uint8_t *out = malloc((size_t)(r->end - r->at) + 1);
    if (!out) { fail(r, "out of memory"); return NULL; }
    size_t n = 0;
    while (r->at < r->end && *r->at != '"') {
        uint8_t c = *r->at++;
        if (c < 0x20) { fail(r, "control character in a string"); break; }
        if (c != '\\') { out[n++] = c; continue; }
        if (r->at == r->end) break;
        c = *r->at++;
        switch (c) {
            case '"': case '\\': case '/': out[n++] = c; break;
            case 'b': out[n++] = '\b'; break;
            case 'f': out[n++] = '\f'; break;
            case 'n': out[n++] = '\n'; break;
            case 'r': out[n++] = '\r'; break;
            case 't': out[n++] = '\t'; break;
            case 'u': {
                long cp = read_hex4(r);
                if (cp >= 0xD800 && cp <= 0xDBFF && r->end - r->at >= 6 && r->at[0] == '\\' && r->at[1] == 'u') {
                    r->at += 2;
                    long low = read_hex4(r);
                    if (low < 0xDC00 || low > 0xDFFF) { fail(r, "bad surrogate pair in a string"); break; }
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                } else if (cp < 0 || (cp >= 0xD800 && cp <= 0xDFFF)) {
                    fail(r, "bad \\u escape in a string");
                    break;
                }
                n += put_utf8(out + n, (unsigned long)cp);
                break;
            }
            default: fail(r, "bad escape in a string");
        }
    }
    if (!eat(r, '"')) fail(r, "unterminated string");
    if (r->error) { free(out); return NULL; }
    *len = n;
    return (char *)out;
}

static void add_word(reader_t *r, char *bytes, size_t len) {
    if (len == 0) { free(bytes); fail(r, "a word is empty"); return; }
    word_t *grown = realloc(words, (word_count + 1) * sizeof *words);
    if (!grown) { free(bytes); fail(r, "out of memory"); return; }
    words = grown;
    for (size_t i = 0; i < len; i++)
        if (bytes[i] >= 'A' && bytes[i] <= 'Z') bytes[i] += 'a' - 'A';
    words[word_count++] = (word_t){bytes, len};
}

static void read_words(reader_t *r) {
    if (!eat(r, '[')) { fail(r, "`words` must be a list of strings"); return; }
    if (eat(r, ']')) return;
    do {
        size_t len;
        char *word = read_string(r, &len);
        if (!word) { fail(r, "`words` must be a list of strings"); return; }
        add_word(r, word, len);
    } while (!r->error && eat(r, ','));
    if (!eat(r, ']')) fail(r, "`words`: expected `,` or `]`");
}

static void read_bool(reader_t *r, bool *value) {
    skip_space(r);
    if (r->end - r->at >= 4 && memcmp(r->at, "true", 4) == 0) { r->at += 4; *value = true; }
    else if (r->end - r->at >= 5 && memcmp(r->at, "false", 5) == 0) { r->at += 5; *value = false; }
    else fail(r, "`deny` must be true or false");
}

static void forget_words(void) {
    for (size_t i = 0; i < word_count; i++) free(words[i].bytes);
    free(words);
    words = NULL;
    word_count = 0;
}

bool exports_guardrail_configure(guardrail_string_t *config, guardrail_string_t *err) {
    forget_words();
    deny_on_match = false;
    reader_t r = {config->ptr, config->ptr + config->len, NULL};
    if (!eat(&r, '{')) fail(&r, "the config must be a table");
    else if (!eat(&r, '}')) {
        do {
            size_t len;
            char *key = read_string(&r, &len);
            if (!key) break;
            if (!eat(&r, ':')) fail(&r, "expected `:` after a key");
            else if (len == 5 && memcmp(key, "words", 5) == 0) read_words(&r);
            else if (len == 4 && memcmp(key, "deny", 4) == 0) read_bool(&r, &deny_on_match);
            else fail(&r, "unknown key (the config takes `words` and `deny`)");
            free(key);
        } while (!r.error && eat(&r, ','));
        if (!r.error && !eat(&r, '}')) fail(&r, "expected `,` or `}`");
    }
    if (!r.error && word_count == 0) fail(&r, "give `words`, a non-empty list of strings");
    guardrail_string_free(config);
    if (r.error) {
        forget_words();
        char message[160] = "wordfilter: ";
        strncat(message, r.error, sizeof message - strlen(message) - 1);
        guardrail_string_dup(err, message);
        return false;
    }
    return true;
}

// ---- inspect ----

// Whether the character at a word's edge continues the word: "heck" is not a word inside "hecktic" or
// "heckß", but it is one in "heck…" or "«heck»". ASCII letters, digits and `_` continue a word; so does
// every other character except spaces and punctuation from the blocks where text mostly takes them
// (Latin-1, General Punctuation, CJK punctuation, full-width ASCII punctuation).
static bool is_word_char(uint32_t c) {
    if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if ((c >= 0xA0 && c <= 0xBF) || c == 0xD7 || c == 0xF7) return false;
    if (c >= 0x2000 && c <= 0x206F) return false;
    if (c >= 0x3000 && c <= 0x303F) return false;
    if (c >= 0xFF01 && c <= 0xFF0F) return false;
    return true;
}

// The code point that starts at t[0] (the host hands over valid UTF-8).
static uint32_t decode_at(const uint8_t *t) {
    if (t[0] < 0x80) return t[0];
    if (t[0] < 0xE0) return ((uint32_t)(t[0] & 0x1F) << 6) | (t[1] & 0x3F);
    if (t[0] < 0xF0) return ((uint32_t)(t[0] & 0x0F) << 12) | ((uint32_t)(t[1] & 0x3F) << 6) | (t[2] & 0x3F);
    return ((uint32_t)(t[0] & 0x07) << 18) | ((uint32_t)(t[1] & 0x3F) << 12) | ((uint32_t)(t[2] & 0x3F) << 6) | (t[3] & 0x3F);
}

// The code point that ends just before t[at].
static uint32_t decode_before(const uint8_t *t, size_t at) {
    size_t start = at - 1;
    while (start > 0 && (t[start] & 0xC0) == 0x80) start--;
    return decode_at(t + start);
}

static bool matches_at(const uint8_t *text, const word_t *w) {
    for (size_t i = 0; i < w->len; i++) {
        uint8_t c = text[i];
        if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
        if (c != (uint8_t)w->bytes[i]) return false;
    }
    return true;
}

static bool push_finding(palisade_guardrail_types_list_finding_t *list, size_t *capacity, uint32_t start, uint32_t end) {
    if (list->len == *capacity) {
        size_t grown = *capacity ? *capacity * 2 : 8;
        palisade_guardrail_types_finding_t *ptr = realloc(list->ptr, grown * sizeof *ptr);
        if (!ptr) return false;
        list->ptr = ptr;
        *capacity = grown;
    }
    palisade_guardrail_types_finding_t *f = &list->ptr[list->len++];
    memset(f, 0, sizeof *f);
    guardrail_string_dup(&f->rule, "wordfilter.match");
    guardrail_string_dup(&f->category, "PROFANITY");
    f->span.is_some = true;
    f->span.val.start = start;
    f->span.val.end = end;
    f->confidence = 0.9f;
    guardrail_string_dup(&f->message, "a word on the blocklist");
    return true;
}

void exports_guardrail_inspect(guardrail_context_t *ctx, guardrail_string_t *text, guardrail_verdict_t *ret) {
    memset(ret, 0, sizeof *ret);
    size_t capacity = 0;
    const uint8_t *t = text->ptr;
    size_t n = text->len;
    for (size_t at = 0; at < n; at++) {
        if ((t[at] & 0xC0) == 0x80) continue;  // inside a character
        if (at > 0 && is_word_char(decode_before(t, at))) continue;
        for (size_t k = 0; k < word_count; k++) {
            const word_t *w = &words[k];
            if (w->len > n - at || !matches_at(t + at, w)) continue;
            if (at + w->len < n && is_word_char(decode_at(t + at + w->len))) continue;
            if (!push_finding(&ret->findings, &capacity, at, at + w->len)) {
                palisade_guardrail_types_verdict_free(ret);
                memset(ret, 0, sizeof *ret);
                ret->decision.tag = PALISADE_GUARDRAIL_TYPES_DECISION_DENY;
                guardrail_string_dup(&ret->decision.val.deny, "wordfilter: out of memory");
                goto done;
            }
            break;  // the first word that matches here is enough
        }
    }
    if (ret->findings.len > 0) {
        ret->labels.ptr = malloc(sizeof(guardrail_string_t));
        if (ret->labels.ptr) {
            ret->labels.len = 1;
            guardrail_string_dup(&ret->labels.ptr[0], "profanity");
        }
        if (deny_on_match) {
            ret->decision.tag = PALISADE_GUARDRAIL_TYPES_DECISION_DENY;
            guardrail_string_dup(&ret->decision.val.deny, "the text contains words on the blocklist");
        }
    }
done:
    guardrail_context_free(ctx);
    guardrail_string_free(text);
}
