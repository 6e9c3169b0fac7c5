import type { FormInstance } from 'antd';
import { ApiError, isApiError } from '../api/problem';

/**
 * Puts a problem's `errors[]` on the form fields they name and returns what
 * is left to show above the form: null when every field error found its
 * field, otherwise the error (with only the unmatched field errors).
 */
export function applyProblemToForm(form: FormInstance, error: unknown, fields: readonly string[]): unknown {
  if (!isApiError(error) || error.errors.length === 0) return error;
  const known = new Set(fields);
  const byField = new Map<string, string[]>();
  const rest = [];
  for (const e of error.errors) {
    if (known.has(e.field)) byField.set(e.field, [...(byField.get(e.field) ?? []), e.message]);
    else rest.push(e);
  }
  form.setFields([...byField].map(([name, errors]) => ({ name, errors })));
  if (rest.length === 0) return null;
  return new ApiError({
    status: error.status,
    code: error.code,
    title: error.title,
    detail: error.detail,
    requestId: error.requestId,
    errors: rest,
  });
}
