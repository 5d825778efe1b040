// Who is looking at the Compliance screens and the lists their forms offer
// (`compliance_meta`): loaded when a compliance screen opens, kept between
// them so the tabs and forms draw at once, and loaded again on the next
// opening (a sign-in may have changed who the person is).

import { signal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import * as api from '../api';
import type { ComplianceMetaDto } from '../bindings';
import { toApiError, type ApiError } from '../lib/api-error';

export const complianceMeta = signal<ComplianceMetaDto | null>(null);
export const complianceMetaError = signal<ApiError | null>(null);

export async function refreshComplianceMeta(): Promise<void> {
  try {
    complianceMeta.value = await api.complianceMeta();
    complianceMetaError.value = null;
  } catch (e) {
    complianceMetaError.value = toApiError(e);
  }
}

/** The compliance meta, loaded again when the calling screen opens. */
export function useComplianceMeta(): ComplianceMetaDto | null {
  useEffect(() => {
    void refreshComplianceMeta();
  }, []);
  return complianceMeta.value;
}
