// Attributes whose values are secrets: never in a plan, the state or any output (they live in the
// cell's secrets.json, 0600); plans and state listings say they exist.
import type { ResourceType } from './resources.js';

export const SENSITIVE_ATTRS: Partial<Record<ResourceType, string[]>> = {
  principal: ['password'],
  kdc: ['master_password'],
  'service-key': ['keys'],
};
