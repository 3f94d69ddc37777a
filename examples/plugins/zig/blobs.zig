//! Encoded blobs: a Palisade plugin in Zig.
//!
//! Finds long runs of base64 or hex in a text — the shape data takes when someone smuggles a file, a key
//! or hidden instructions through a prompt or a model's answer — and reports each as a finding of
//! category ENCODED_DATA (rule `blobs.base64` or `blobs.hex`) with its byte span, and labels the text
//! `encoded-data`. A run counts only if it mixes characters the way encodings do (base64: upper and lower
//! case letters and digits; hex: letters and digits), so a long word or a row of dashes is not a blob.
//!
//! Config (the plugin's `config` table in bundle.toml, handed to `configure` as JSON), keys optional:
//!   {"min_length": 100, "deny": false}
//!
//! The C bindings (guardrail.h, guardrail.c) are generated from wit/ by build.sh and translated for Zig
//! (`zig translate-c`); ownership is as in C: an export frees its arguments, and what it returns is
//! malloc'd, for the generated post-return function to free.
const std = @import("std");
const g = @import("guardrail.zig");

var min_length: usize = 100;
var deny_on_match = false;

const Config = struct {
    min_length: u32 = 100,
    deny: bool = false,
};

export fn exports_guardrail_configure(config: *g.guardrail_string_t, err: *g.guardrail_string_t) bool {
    defer g.guardrail_string_free(config);
    const parsed = std.json.parseFromSlice(Config, std.heap.c_allocator, config.ptr[0..config.len], .{}) catch {
        g.guardrail_string_dup(err, "blobs: the config takes `min_length` (a whole number, 16 or more) and `deny` (true or false)");
        return false;
    };
    defer parsed.deinit();
    if (parsed.value.min_length < 16) {
        g.guardrail_string_dup(err, "blobs: `min_length` must be 16 or more; shorter runs are ordinary words and numbers");
        return false;
    }
    min_length = parsed.value.min_length;
    deny_on_match = parsed.value.deny;
    return true;
}

fn isBase64(c: u8) bool {
    return std.ascii.isAlphanumeric(c) or c == '+' or c == '/' or c == '-' or c == '_';
}

/// What a run of base64 characters holds: encodings mix letter cases and digits.
const Mix = struct {
    upper: bool = false,
    lower: bool = false,
    digit: bool = false,
    non_hex: bool = false,

    fn add(mix: *Mix, c: u8) void {
        if (std.ascii.isUpper(c)) mix.upper = true;
        if (std.ascii.isLower(c)) mix.lower = true;
        if (std.ascii.isDigit(c)) mix.digit = true;
        if (!std.ascii.isHex(c)) mix.non_hex = true;
    }
};

const Findings = struct {
    list: *g.palisade_guardrail_types_list_finding_t,
    capacity: usize = 0,

    fn push(self: *Findings, rule: [*c]const u8, start: usize, end: usize) bool {
        if (self.list.len == self.capacity) {
            const grown = if (self.capacity == 0) 4 else self.capacity * 2;
            const bytes = grown * @sizeOf(g.palisade_guardrail_types_finding_t);
            const ptr = std.c.realloc(@ptrCast(self.list.ptr), bytes) orelse return false;
            self.list.ptr = @ptrCast(@alignCast(ptr));
            self.capacity = grown;
        }
        const f = &self.list.ptr[self.list.len];
        self.list.len += 1;
        f.* = std.mem.zeroes(g.palisade_guardrail_types_finding_t);
        g.guardrail_string_dup(&f.rule, rule);
        g.guardrail_string_dup(&f.category, "ENCODED_DATA");
        f.span.is_some = true;
        f.span.val.start = @intCast(start);
        f.span.val.end = @intCast(end);
        f.confidence = 0.7;
        g.guardrail_string_dup(&f.message, "a long run of encoded data");
        return true;
    }
};

export fn exports_guardrail_inspect(ctx: *g.guardrail_context_t, text: *g.guardrail_string_t, ret: *g.guardrail_verdict_t) void {
    defer g.guardrail_context_free(ctx);
    defer g.guardrail_string_free(text);
    ret.* = std.mem.zeroes(g.guardrail_verdict_t);
    const t = text.ptr[0..text.len];
    var findings = Findings{ .list = &ret.findings };

    var at: usize = 0;
    while (at < t.len) {
        if (!isBase64(t[at])) {
            at += 1;
            continue;
        }
        const start = at;
        var mix = Mix{};
        while (at < t.len and isBase64(t[at])) : (at += 1) mix.add(t[at]);
        var end = at;
        while (end < t.len and end - at < 2 and t[end] == '=') end += 1; // base64 padding
        if (at - start < min_length) continue;
        const hex = !mix.non_hex and mix.digit and (mix.upper or mix.lower);
        const base64 = mix.upper and mix.lower and mix.digit;
        if (!hex and !base64) continue;
        const rule: [*c]const u8 = if (hex) "blobs.hex" else "blobs.base64";
        if (!findings.push(rule, start, if (hex) at else end)) break;
        at = end;
    }

    if (ret.findings.len > 0) {
        if (std.c.malloc(@sizeOf(g.guardrail_string_t))) |ptr| {
            ret.labels.ptr = @ptrCast(@alignCast(ptr));
            ret.labels.len = 1;
            g.guardrail_string_dup(&ret.labels.ptr[0], "encoded-data");
        }
        if (deny_on_match) {
            ret.decision.tag = g.PALISADE_GUARDRAIL_TYPES_DECISION_DENY;
            g.guardrail_string_dup(&ret.decision.val.deny, "the text carries a long run of encoded data");
        }
    }
}
