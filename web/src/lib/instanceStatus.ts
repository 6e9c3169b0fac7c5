// Instance statuses as the console shows them. The server is the authority
// on the state machine; this only decides colours, spinners and polling.
import type { InstanceStatus } from '../api/types';

export interface StatusLook {
  label: string;
  color: string;
  /** A state the instance passes through on its own: show a spinner and poll. */
  transitional: boolean;
}

const looks: Record<InstanceStatus, StatusLook> = {
  CREATING: { label: 'Creating', color: 'processing', transitional: true },
  RUNNING: { label: 'Running', color: 'success', transitional: false },
  UPDATING: { label: 'Updating', color: 'processing', transitional: true },
  STOPPING: { label: 'Stopping', color: 'warning', transitional: true },
  STOPPED: { label: 'Stopped', color: 'default', transitional: false },
  STARTING: { label: 'Starting', color: 'processing', transitional: true },
  DELETING: { label: 'Deleting', color: 'warning', transitional: true },
  FAILED: { label: 'Failed', color: 'error', transitional: false },
};

/** How a status looks; an unknown one (a newer server) is shown as is, in grey. */
export function statusLook(status: string | undefined): StatusLook {
  if (status && status in looks) return looks[status as InstanceStatus];
  return { label: status || 'Unknown', color: 'default', transitional: false };
}

export function isTransitional(status: string | undefined): boolean {
  return statusLook(status).transitional;
}

/** How often to poll while something is in flux; false when all is settled. */
export const pollMs = 2000;
export function pollWhile(statuses: (string | undefined)[]): number | false {
  return statuses.some(isTransitional) ? pollMs : false;
}
