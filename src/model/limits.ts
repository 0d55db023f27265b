/**
 * Size ceilings of everything a request can bring into the store (issue 6: "every stored
 * field has a bounded size"; a status detail once had no limit). The route schemas
 * (api/schemas.ts) apply them to every string, array and object a route accepts, and a test
 * walks every route to check none is missing (route-bounds.test.ts).
 *
 * They are ceilings, not the rules: the validators of validate*.ts keep the precise limits
 * (a tenant name of at most 32 characters, 64 labels, label values of 63) and their specific
 * error codes, so a ceiling sits at or above the validator's limit and only refuses what no
 * client could have meant, with one BAD_REQUEST line, before any validator works on it.
 */

/** Names, ids, host names, addresses, interface names, credentials: 253, the longest DNS name. */
export const MAX_TEXT = 253;
/** A namespace path (validateNetnsPath allows 1,024 characters). */
export const MAX_PATH = 1024;
/** Why an endpoint's status is what it is (an agent cuts a kernel message to it: agent/status.ts). */
export const MAX_STATUS_DETAIL = 1024;
/** A label key: a DNS prefix (253), "/", a name (63), as Kubernetes allows. */
export const MAX_LABEL_KEY = 253 + 1 + 63;
/** Labels and label keys a request may carry before validateLabels counts them (it allows 64). */
export const MAX_LABELS_IN_REQUEST = 256;
/** Label selectors of one GET /v1/endpoints. */
export const MAX_SELECTORS = 64;

/** Rules of one policy: the benchmark of issue 7 runs 10,000. */
export const MAX_POLICY_RULES = 10_000;
/** One rule's text: far above any real rule, small enough that 10,000 of them stay bounded. */
export const MAX_RULE_TEXT = 512;
/** Policies one network may have attached. */
export const MAX_POLICIES_PER_NETWORK = 64;
/** Rate limits of one policy (one per target). */
export const MAX_POLICY_RATES = 1_000;
/**
 * Body limit of the policy routes that carry rules: 10,000 rules at their ceiling, JSON-quoted.
 * Other routes keep the server's 256 KiB (api/server-options.ts).
 */
export const POLICY_BODY_LIMIT = 8 * 1024 * 1024;

/** `text` cut to `max` characters, saying so, for a message that must fit a bounded field. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const mark = '… (cut)';
  return `${text.slice(0, max - mark.length)}${mark}`;
}
