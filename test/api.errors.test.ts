// The rater's one table of error codes (rater/errors.ts): every code is documented in
// docs/api.md with its HTTP and gRPC status and every documented code exists; errors from
// storage and rating map to the codes the API promises.
import { readFileSync } from 'node:fs';
import { status } from '@grpc/grpc-js';
import { describe, it, expect } from 'vitest';
import { RATER_ERRORS, RaterError, toGrpcError, toHttpError } from '../rater/errors.ts';
import { PeriodError, billingPeriod } from '../rater/rating/period.ts';
import { PlanValidationError, parsePlan } from '../rater/rating/plan.ts';
import { StorageError } from '../rater/storage/errors.ts';

const GRPC_NAMES = Object.fromEntries(Object.entries(status).map(([k, v]) => [v, k]));

describe('rater error table', () => {
  it('documents every code with its statuses, and nothing else', () => {
    const doc = readFileSync(new URL('../docs/api.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('### Errors'), doc.indexOf('## Billing commands'));
    const rows = [...section.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \| `([A-Z_]+)` \|/gm)];
    const documented = Object.fromEntries(rows.map((m) => [m[1], [Number(m[2]), m[3]]]));
    const table = Object.fromEntries(
      Object.entries(RATER_ERRORS).map(([code, e]) => [code, [e.http, GRPC_NAMES[e.grpc]]]),
    );
    expect(documented).toEqual(table);
  });

  it('maps storage errors to NOT_FOUND, CONFLICT and BAD_REQUEST', () => {
    const cases: Array<[StorageError, number, string]> = [
      [new StorageError('NOT_FOUND', 'unknown account a'), 404, 'NOT_FOUND'],
      [new StorageError('CONFLICT', 'inside a closed period'), 409, 'CONFLICT'],
      [new StorageError('INVALID_ARGUMENT', 'unknown plan p'), 400, 'BAD_REQUEST'],
      [new StorageError('DB_UNAVAILABLE', 'down'), 503, 'DB_UNAVAILABLE'],
    ];
    for (const [err, http, code] of cases)
      expect(toHttpError(err)).toEqual({
        statusCode: http,
        body: { error: { code, message: err.message } },
      });
    expect(toGrpcError(new StorageError('CONFLICT', 'x'))).toEqual({
      code: status.FAILED_PRECONDITION,
      details: 'CONFLICT: x',
    });
  });

  it('answers PLAN_INVALID with every problem, and BAD_REQUEST for a bad period', () => {
    let planError: unknown;
    try {
      parsePlan('plan: p\ncurrency: EURO\n');
    } catch (e) {
      planError = e;
    }
    expect(planError).toBeInstanceOf(PlanValidationError);
    const { statusCode, body } = toHttpError(planError);
    expect(statusCode).toBe(400);
    expect(body.error.code).toBe('PLAN_INVALID');
    expect(body.error.problems).toEqual((planError as PlanValidationError).problems);
    expect(body.error.message).toBe(
      `the plan does not validate (${body.error.problems?.length} problems)`,
    );

    let periodError: unknown;
    try {
      billingPeriod('2026-13', 'UTC');
    } catch (e) {
      periodError = e;
    }
    expect(periodError).toBeInstanceOf(PeriodError);
    expect(toHttpError(periodError).statusCode).toBe(400);
    expect(toHttpError(periodError).body.error.code).toBe('BAD_REQUEST');
  });

  it('hides the details of anything unexpected', () => {
    expect(toHttpError(new Error('password=secret'))).toEqual({
      statusCode: 500,
      body: { error: { code: 'INTERNAL', message: 'internal error' } },
    });
    expect(toHttpError(new RaterError('CONFLICT', 'c')).statusCode).toBe(409);
  });
});
