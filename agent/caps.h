/* Capabilities with libcap-ng. caps_validate() runs in the agent and names
 * the bad entry; caps_drop_bounding() and caps_apply() run in the init
 * helper around the uid change (KEEPCAPS keeps the permitted set across
 * it). Errors: negative errno + struct err. */
#pragma once

struct err;
struct oci_caps;

int caps_validate(const struct oci_caps *caps, struct err *e);
int caps_drop_bounding(const struct oci_caps *caps, struct err *e);
int caps_apply(const struct oci_caps *caps, struct err *e);
