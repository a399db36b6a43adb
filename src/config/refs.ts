// References in a cell file that are either catalog ids or files on disk: the one test for each.
import { isAbsolute, resolve } from 'node:path';

/** A module named by its file (nnpfs.ko, mods/openafs) rather than a catalog id. */
export const isModulePath = (ref: string): boolean => ref.endsWith('.ko') || ref.includes('/');

/** A kernel named by its Module.symvers file rather than a catalog id. */
export const isSymversPath = (ref: string): boolean => ref.endsWith('.symvers') || ref.includes('/');

/** Paths in the cell file are relative to the file's directory. */
export const resolveFrom = (baseDir: string, p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
