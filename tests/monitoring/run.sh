#!/usr/bin/env bash
# deploy/monitoring against Prometheus' own checker and a real server:
# - the alert rules parse (`promtool check rules`) and fire, and stay quiet, on the series their unit tests
#   give them (`promtool test rules`);
# - every query of the Grafana dashboard parses as PromQL (promtool checks them as recording rules, with
#   Grafana's variables filled in);
# - every metric the rules and the dashboard name is on a real server's /metrics page, and the page passes
#   `promtool check metrics`.
#
#   bash tests/monitoring/run.sh           needs promtool (Debian: prometheus), curl and a release build
#                                          (PALISADE=FILE runs another binary)
#   bash tests/monitoring/run.sh --setup   installs promtool (Debian's prometheus package)
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "${1:-}" = --setup ]; then
  command -v promtool >/dev/null && exit 0
  apt-get update -qq
  # Only promtool is used; the package's server is not started (no init system runs here).
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  exit 0
fi
bin=${PALISADE:-./target/release/palisade}
monitoring=deploy/monitoring
source tests/lib.sh
fail() {
  echo "monitoring: $*" >&2
  [ -f "$work/palisade.log" ] && { echo "--- the server's log:" >&2; tail -n 40 "$work/palisade.log" >&2; }
  exit 1
}

promtool check rules "$monitoring/alerts.yaml"
(cd "$monitoring" && promtool test rules alerts.test.yaml)

# The dashboard's queries as recording rules, so promtool parses each one.
python3 - "$monitoring/grafana-dashboard.json" > "$work/dashboard-rules.yaml" <<'EOF'
import json, sys
dashboard = json.load(open(sys.argv[1]))
exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
if len(exprs) < 10:
    sys.exit(f"only {len(exprs)} queries in the dashboard")
print("groups:\n  - name: dashboard\n    rules:")
for i, expr in enumerate(exprs):
    for var, value in {"$__rate_interval": "5m", "$namespace": ".*", "$pod": ".*", "$job": ".*"}.items():
        expr = expr.replace(var, value)
    if "$" in expr:
        sys.exit(f"a variable the test does not fill in: {expr}")
    print(f"      - record: dashboard:query_{i}\n        expr: {json.dumps(expr)}")
EOF
promtool check rules "$work/dashboard-rules.yaml" || fail "a dashboard query is not valid PromQL"

# A real server's page, after a call that found something.
"$bin" serve --listen 127.0.0.1:0 --http 127.0.0.1:0 --metrics 127.0.0.1:0 2> "$work/palisade.log" &
pids+=($!)
http=$(logged http_addr "$work/palisade.log")
metrics=$(logged metrics_addr "$work/palisade.log")
[ -n "$http" ] && [ -n "$metrics" ] || fail "the server never logged its HTTP and metrics addresses"
curl -sS -o /dev/null -H 'content-type: application/json' -d '{"text": "mail ana@example.com"}' \
  "http://$http/v1/check" || fail "the HTTP check failed"
curl -sS "http://$metrics/metrics" > "$work/page.txt"
# promtool lints the Prometheus text format, where a counter's HELP names its `_total` series; the page is
# OpenMetrics (what Prometheus asks for, and gets), where HELP names the family without the suffix. That
# one complaint is dropped when the family's HELP is there; any other fails.
promtool check metrics < "$work/page.txt" > "$work/lint.txt" 2>&1 || true
while read -r series problem; do
  if [ "$problem" = "no help text" ] && [[ $series == *_total ]] && grep -q "^# HELP ${series%_total} " "$work/page.txt"; then
    continue
  fi
  fail "promtool check metrics: $series $problem"
done < "$work/lint.txt"
python3 - "$work/page.txt" "$monitoring/alerts.yaml" "$monitoring/grafana-dashboard.json" <<'EOF'
import re, sys
page = open(sys.argv[1]).read()
families = set(re.findall(r"^# TYPE (\S+) ", page, re.M))
named = set()
for path in sys.argv[2:]:
    named |= set(re.findall(r"\b((?:palisade|process)_[a-z_]+)", open(path).read()))
def family(name):
    for suffix in ("_bucket", "_count", "_sum", "_total"):
        if name.endswith(suffix) and name[: -len(suffix)] in families:
            return name[: -len(suffix)]
    return name if name in families else None
# A plugin failure's series appears with the first failure (its labels name the plugin and the kind).
ON_FIRST_EVENT = {"palisade_plugin_failures_total"}
missing = sorted(n for n in named - ON_FIRST_EVENT if family(n) is None)
if missing:
    sys.exit(f"named by the rules or the dashboard but not on the page: {', '.join(missing)}")
if 'palisade_findings_total{category="EMAIL_ADDRESS",action="redact",direction="input"} 1' not in page:
    sys.exit("the call's finding is not counted on the page")
print(f"monitoring: {len(named)} metrics named by the rules and the dashboard, all on the page")
EOF
