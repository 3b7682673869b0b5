import { EventEmitter } from 'node:events';

/**
 * Identity changes other domains react to, emitted after the change committed. The broker
 * listens for 'user-deactivated' to end the user's live remote sessions (disabled, locked,
 * expired, deleted).
 */
export interface UserDeactivated {
  userId: string;
  username: string;
  why: 'disabled' | 'locked' | 'expired' | 'deleted' | 'inactive';
  by: string;
}

class IdentityEvents extends EventEmitter {
  userDeactivated(e: UserDeactivated): void {
    this.emit('user-deactivated', e);
  }
}

export const identityEvents = new IdentityEvents();
identityEvents.setMaxListeners(100);
