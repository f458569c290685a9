// Currencies: which ISO 4217 codes a plan or an account may name, and how many decimals their
// amounts are rounded to. Apart from plan.ts because the money path (engine.ts, lines, invoice
// adjustments) and the API's account schema need these without the plan schema.
const CURRENCIES = new Set<string>(Intl.supportedValuesOf('currency'));

/** An ISO 4217 code this runtime knows (EUR, USD, JPY, …). */
export function isCurrency(code: string): boolean {
  return CURRENCIES.has(code);
}

// ISO 4217 minor units where they are not 2. (Intl's digits follow CLDR, which differs for
// some currencies, e.g. HUF and IDR; invoices follow the ISO standard.)
// prettier-ignore
const MINOR_UNITS: Record<string, number> = {
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0, UGX: 0,
  UYI: 0, VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
  CLF: 4, UYW: 4,
};

/** Digits after the decimal point in the currency's ISO 4217 minor unit (EUR 2, JPY 0, KWD 3). */
export function currencyDecimals(currency: string): number {
  return Object.hasOwn(MINOR_UNITS, currency) ? (MINOR_UNITS[currency] ?? 2) : 2;
}
