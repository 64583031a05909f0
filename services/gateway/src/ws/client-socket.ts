/**
 * The socket end of one client: where everything that writes to the client or closes it
 * ends (its outbox, its view of the room, its writes' refusals, its session), so none of
 * them calls back up into the session. It knows the client's id and address, and the room
 * once joined, for the lines it logs.
 */
import { CloseCode } from '@cloudvars/protocol';
import type { FastifyBaseLogger } from 'fastify';
import { WebSocket } from 'ws';
import type { GatewayMetrics } from '../metrics.ts';
import { CLOSE_GRACE_MS, closeSocket } from '../sockets/close-socket.ts';
import type { OutboxReports } from './outbox.ts';

export type LogLevel = 'info' | 'warn' | 'error';

export class ClientSocket implements OutboxReports {
  /** The room's name once the client is in it (or joining it), for the log lines. */
  room: string | undefined = undefined;

  constructor(
    readonly id: string,
    readonly socket: WebSocket,
    readonly address: string,
    private readonly metrics: GatewayMetrics,
    private readonly logger: FastifyBaseLogger,
  ) {}

  /** No close has started from either side. */
  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  /**
   * Every line about this client carries `conn`. Logged through the shared logger with the
   * field rather than a child logger per client: the same output, without a Pino instance
   * per idle connection.
   */
  log(level: LogLevel, fields: object, message: string): void {
    this.logger[level]({ conn: this.id, ...fields }, message);
  }

  /** Closes the connection for the client's misbehaviour: counted and logged as such, once. */
  closeForMisbehaviour(code: number, reason: string): void {
    // A close under way was counted and logged when it started (the pod's sweep may ask again).
    if (!this.isOpen) return;
    this.metrics.protocolErrors.inc({ reason });
    this.log('info', { room: this.room, code, reason }, 'closing connection');
    this.close(code, reason);
  }

  /** Closes the connection for a reason that is not the client's fault. */
  close(code: number, reason: string): void {
    closeSocket(this.socket, code, reason, CLOSE_GRACE_MS);
  }

  /** OutboxReports: the client does not read what we send. */
  slowConsumer(): void {
    this.closeForMisbehaviour(CloseCode.SlowConsumer, 'slow-consumer');
  }
}
