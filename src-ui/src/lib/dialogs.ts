// Native file dialogs (the Tauri dialog plugin). Both return null when the
// person closes the dialog; failures are normalised to ApiError.

import { open, save } from '@tauri-apps/plugin-dialog';
import { toApiError } from './api-error';

export type Filter = { name: string; extensions: string[] };

export const CSV_FILTERS: Filter[] = [{ name: 'CSV', extensions: ['csv', 'txt', 'tsv'] }];

export async function chooseFile(filters: Filter[], title?: string): Promise<string | null> {
  try {
    const picked = await open({ multiple: false, directory: false, filters, ...(title ? { title } : {}) });
    return typeof picked === 'string' ? picked : null;
  } catch (e) {
    throw toApiError(e);
  }
}

export async function chooseSavePath(defaultPath: string, filters: Filter[], title?: string): Promise<string | null> {
  try {
    const picked = await save({ defaultPath, filters, ...(title ? { title } : {}) });
    return typeof picked === 'string' ? picked : null;
  } catch (e) {
    throw toApiError(e);
  }
}

export async function chooseFolder(title?: string): Promise<string | null> {
  try {
    const picked = await open({ multiple: false, directory: true, ...(title ? { title } : {}) });
    return typeof picked === 'string' ? picked : null;
  } catch (e) {
    throw toApiError(e);
  }
}

export const DOCUMENT_FILTERS: Filter[] = [
  { name: 'Documents', extensions: ['pdf', 'docx', 'md', 'markdown', 'html', 'htm', 'txt'] },
];

export async function chooseFiles(filters: Filter[], title?: string): Promise<string[]> {
  try {
    const picked = await open({ multiple: true, directory: false, filters, ...(title ? { title } : {}) });
    if (Array.isArray(picked)) return picked.filter((p): p is string => typeof p === 'string');
    return typeof picked === 'string' ? [picked] : [];
  } catch (e) {
    throw toApiError(e);
  }
}
