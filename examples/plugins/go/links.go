// Link allowlist: a Palisade plugin in Go.
//
// Finds the http(s) links in a text and reports each whose host is not on the allowlist (or under an
// allowed domain) as a finding of category URL, rule `links.unlisted-host`, with its byte span, and
// labels the text `unlisted-link`: a model's answer that sends a user to an unknown site, or a prompt
// that carries one to a tool. The bundle's policy decides what happens (e.g. `URL = "redact"`); with
// "deny": true any such link denies the exchange.
//
// Config (the plugin's `config` table in bundle.toml, handed to Configure as JSON):
//
//	{"allow": ["example.com", "docs.python.org"], "deny": false}
//
// The bindings (the packages beside this one) are generated from wit/ by build.sh; this file is the
// package they call, export_wit_world. Go strings are bytes, so offsets are the spans the host counts.
package export_wit_world

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	host "wit_component/palisade_guardrail_host"
	types "wit_component/palisade_guardrail_types"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

var (
	allowed []string
	deny    bool
)

type config struct {
	Allow []string `json:"allow"`
	Deny  bool     `json:"deny"`
}

func Configure(raw string) witTypes.Result[witTypes.Unit, string] {
	var c config
	decoder := json.NewDecoder(strings.NewReader(raw))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&c); err != nil {
		return witTypes.Err[witTypes.Unit](fmt.Sprintf("links: the config takes `allow` (a list of hosts) and `deny` (true or false): %v", err))
	}
	if len(c.Allow) == 0 {
		return witTypes.Err[witTypes.Unit]("links: give `allow`, the hosts links may point to (a host allows its subdomains)")
	}
	allowed = allowed[:0]
	for _, h := range c.Allow {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" || strings.ContainsAny(h, "/:@ ") {
			return witTypes.Err[witTypes.Unit](fmt.Sprintf("links: %q is not a host name; give hosts like \"example.com\"", h))
		}
		allowed = append(allowed, h)
	}
	deny = c.Deny
	host.Log(host.Level_Debug, fmt.Sprintf("links: %d allowed hosts", len(allowed)))
	return witTypes.Ok[witTypes.Unit, string](witTypes.Unit{})
}

func Inspect(ctx types.Context, text string) types.Verdict {
	findings := []types.Finding{}
	for _, link := range findLinks(text) {
		if isAllowed(link.host) {
			continue
		}
		findings = append(findings, types.Finding{
			Rule:       "links.unlisted-host",
			Category:   "URL",
			Span:       witTypes.Some(types.Span{Start: uint32(link.start), End: uint32(link.end)}),
			Confidence: 0.8,
			Message:    "a link to a host not on the allowlist",
		})
	}
	verdict := types.Verdict{Decision: types.MakeDecisionAllow(), Findings: findings, Labels: []string{}}
	if len(findings) > 0 {
		verdict.Labels = []string{"unlisted-link"}
		if deny {
			verdict.Decision = types.MakeDecisionDeny("the text links to hosts not on the allowlist")
		}
	}
	return verdict
}

func isAllowed(h string) bool {
	for _, a := range allowed {
		if h == a || strings.HasSuffix(h, "."+a) {
			return true
		}
	}
	return false
}

type link struct {
	start, end int
	host       string
}

// findLinks returns the http and https URLs in text with their byte ranges: a URL runs to the next space
// or quote, less the punctuation a sentence puts after it.
func findLinks(text string) []link {
	lower := asciiLower(text)
	var links []link
	for at := 0; at < len(text); {
		i := strings.Index(lower[at:], "http")
		if i < 0 {
			break
		}
		start := at + i
		rest := lower[start:]
		if !strings.HasPrefix(rest, "http://") && !strings.HasPrefix(rest, "https://") {
			at = start + 4
			continue
		}
		end := start
		for end < len(text) && !strings.ContainsRune(" \t\r\n\"'<>`", rune(text[end])) {
			end++
		}
		for end > start && strings.ContainsRune(".,;:!?)]}", rune(text[end-1])) {
			end--
		}
		if u, err := url.Parse(text[start:end]); err == nil && u.Hostname() != "" {
			links = append(links, link{start, end, strings.ToLower(u.Hostname())})
		}
		at = end
		if at == start {
			at++
		}
	}
	return links
}

// asciiLower lowercases ASCII letters only, so every byte stays where it was: strings.ToLower would
// change the length of some characters ('İ', 'ẞ') and move every offset after them.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}
