// Identifier rules shared by the API, the catalog storage and the collector: one definition
// each, so a check at the HTTP edge and the same check in storage cannot drift apart. (Plan ids
// are a rating concept: PLAN_ID_RE lives in rater/rating/plan.ts.)
import { DEVICE_ID_RE } from './usage.ts';

/** `deviceId` is 1–128 characters of `[A-Za-z0-9._:-]` (PRODUCT.md, device contract). */
export { DEVICE_ID_RE };

/** Account ids follow the device id rule: 1–128 characters of `[A-Za-z0-9._:-]`. */
export const ACCOUNT_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
