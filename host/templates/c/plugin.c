// __NAME__: a Palisade plugin. It flags every occurrence of WORD as CLASSIFICATION; change
// exports_guardrail_inspect to do your own check.
//
// guardrail.h and guardrail.c are generated from wit/ by build.sh. Ownership, as wit-bindgen's C generator
// sets it: an export owns its arguments and frees them; what it returns is malloc'd and freed by the
// generated post-return function once the host has copied it. C sees the text as the UTF-8 bytes the host
// counts, so spans need no conversion.

#include <stdlib.h>
#include <string.h>

#include "guardrail.h"

static const char WORD[] = "example";

bool exports_guardrail_configure(guardrail_string_t *config, guardrail_string_t *err) {
    // The config arrives as JSON text; this plugin takes none. To fail, fill `err` and return false:
    // guardrail_string_dup(err, "what was wrong"); the operator sees the message.
    (void)err;
    guardrail_string_free(config);
    return true;
}

void exports_guardrail_inspect(guardrail_context_t *ctx, guardrail_string_t *text, guardrail_verdict_t *ret) {
    memset(ret, 0, sizeof *ret);  // allow, no findings, no labels
    size_t len = strlen(WORD), capacity = 0;
    for (size_t at = 0; at + len <= text->len; at++) {
        if (memcmp(text->ptr + at, WORD, len) != 0) continue;
        if (ret->findings.len == capacity) {
            capacity = capacity ? capacity * 2 : 4;
            void *grown = realloc(ret->findings.ptr, capacity * sizeof *ret->findings.ptr);
            if (!grown) break;
            ret->findings.ptr = grown;
        }
        palisade_guardrail_types_finding_t *f = &ret->findings.ptr[ret->findings.len++];
        memset(f, 0, sizeof *f);
        guardrail_string_dup(&f->rule, "__NAME__.word");
        guardrail_string_dup(&f->category, "CLASSIFICATION");
        f->span.is_some = true;
        f->span.val.start = at;
        f->span.val.end = at + len;
        f->confidence = 0.9f;
        guardrail_string_dup(&f->message, "a listed word");
    }
    guardrail_context_free(ctx);
    guardrail_string_free(text);
}
