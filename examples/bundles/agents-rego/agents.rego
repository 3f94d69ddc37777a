# The agent platform's three rules (see ../agents/README.md) in Rego, for the policy-rego plugin. The input
# document: {principal, direction, destination, tool, labels, metadata}; absent strings are "".
package palisade

import rego.v1

sensitive if {
	some level in ["sensitivity:confidential", "sensitivity:restricted"]
	level in input.labels
}

# A destination data.json does not list is not internal.
internal if data.zones[input.destination] == "internal"

deny contains "confidential-stays-internal: confidential data never leaves for an external model or tool" if {
	input.direction == "input"
	sensitive
	not internal
}

deny contains "refund-is-billing-only: only the billing agent may call the refund tool" if {
	input.tool == "refund"
	input.principal != data.billing_agent
}

deny contains "no-secrets-outside-platform: no secrets in output to principals outside the platform namespace" if {
	input.direction == "output"
	"found:SECRET" in input.labels
	not startswith(input.principal, data.platform_namespace)
}

# Labels for later plugins, the response and the audit log.
labels contains "zone:internal" if internal

labels contains "zone:external" if not internal
