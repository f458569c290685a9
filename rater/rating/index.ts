// The rating engine's public surface. Everything under rater/rating is pure: no I/O, no clock,
// no globals; same input ⇒ byte-identical output.
export { rateAccount, deviceCharges } from './engine.ts';
export { invoiceCsv, invoicesCsv, deviceChargesCsv } from './csv.ts';
export {
  billingPeriod,
  periodAt,
  isValidTimeZone,
  effectiveInstant,
  PeriodError,
} from './period.ts';
export { buildSegments, planVersionAt } from './segments.ts';
export { summarizable } from './aggregate.ts';
export {
  parsePlan,
  validatePlan,
  planSchema,
  PlanValidationError,
  type Plan,
  type PlanVersion,
  type PlanProblem,
} from './plan.ts';
export { currencyDecimals } from './currency.ts';
export type * from './types.ts';
