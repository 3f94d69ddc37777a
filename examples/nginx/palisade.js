// nginx (njs) in front of a model API, with Palisade checking every request body first.
//
// Why njs and not `auth_request`: auth_request's subrequest runs before nginx reads the request body and
// never carries it, so it cannot inspect a prompt; `mirror` sends a copy but cannot stop the original.
// njs reads the body, asks Palisade's HTTP API (POST /v1/check), and then:
//   allow  → the request goes upstream as it came (internal redirect, so the answer streams back);
//   modify → the redacted body goes upstream instead (a subrequest, so that answer is buffered);
//   deny   → 403 with a JSON error naming the plugin and rule, in the shape OpenAI's clients read;
//   Palisade unreachable or failing → 503: fail closed, nothing goes upstream unchecked.
// Answers coming back are not checked here; for that, use Envoy's ext_proc or CheckStream.

function error(r, status, message, finding) {
    const body = { type: "palisade_denied", message: "Palisade: " + message };
    if (finding) {
        body.plugin = finding.plugin;
        body.rule = finding.rule;
    }
    r.headersOut["Content-Type"] = "application/json";
    r.return(status, JSON.stringify({ error: body }));
}

async function guard(r) {
    // The body is read into memory (client_body_buffer_size = client_max_body_size); without it there is
    // nothing to check, and nothing goes upstream.
    const text = r.requestText;
    if (text === undefined) {
        error(r, 413, "the request body was too large to check in memory");
        return;
    }
    const media = (r.headersIn["Content-Type"] || "").toLowerCase();
    const check = {
        text: text,
        contentType: /^application\/([a-z.+-]*\+)?json/.test(media) ? "application/json" : "text/plain",
        direction: "DIRECTION_INPUT",
        destination: r.variables.palisade_destination,
        requestId: r.variables.request_id,
    };
    let reply;
    try {
        reply = await r.subrequest("/_palisade", { method: "POST", body: JSON.stringify(check) });
    } catch (e) {
        error(r, 503, "the guardrail is unreachable: " + e);
        return;
    }
    let answer;
    try {
        answer = JSON.parse(reply.responseText);
    } catch (e) {
        error(r, 503, "the guardrail did not answer (nginx got " + reply.status + " from it)");
        return;
    }
    if (reply.status !== 200) {
        // Palisade's own error (bad JSON in the body, too large): the client's to fix, so say so.
        error(r, reply.status < 500 ? reply.status : 503, answer.message || "the guardrail failed");
        return;
    }
    const acted = answer.findings.find((f) => f.action !== "report");
    if (answer.decision === "DECISION_DENY") {
        error(r, 403, answer.reason, acted);
        return;
    }
    if (answer.decision === "DECISION_MODIFY") {
        const upstream = await r.subrequest("/_upstream" + r.uri, {
            method: r.method,
            args: r.variables.args || "",
            body: answer.text,
        });
        r.headersOut["Content-Type"] = upstream.headersOut["Content-Type"] || "application/json";
        r.headersOut["X-Palisade-Decision"] = "modify";
        r.return(upstream.status, upstream.responseText);
        return;
    }
    r.internalRedirect("@upstream");
}

export default { guard };
