import { spawn, type ChildProcess } from "node:child_process";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { ReadBuffer, serializeMessage } from "@modelcontextprotocol/sdk/shared/stdio.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

// An MCP stdio transport over a child process we spawn ourselves, so that we own its pid, its exit
// code and signal, and its stderr (the SDK's StdioClientTransport hides the first two).

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildProcessTransportOptions {
  command: string;
  args: readonly string[];
  cwd: string;
  env: Record<string, string>;
  onStderr(chunk: Buffer): void;
  /** How long close() waits after stdin EOF, and again after SIGTERM. */
  graceMs?: number;
}

const DEFAULT_GRACE_MS = 2_000;
// When a grandchild keeps stdout open, 'close' may never come after 'exit'; do not wait forever.
const CLOSE_AFTER_EXIT_MS = 500;

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Providers must not outlive the orchestrator, even when it exits without closing them. */
function trackChild(child: ChildProcess): void {
  liveChildren.add(child);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const live of liveChildren) {
      try {
        live.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    }
  });
}

const delay = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms).unref();
  });

export class ChildProcessTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T) => void;

  private readonly options: ChildProcessTransportOptions;
  private readonly readBuffer = new ReadBuffer();
  private child: ChildProcess | undefined;
  private exitInfo: ExitInfo | undefined;
  private closedNotified = false;
  private closing: Promise<void> | undefined;
  private readonly exitListeners: Array<(info: ExitInfo) => void> = [];
  private resolveExited!: (info: ExitInfo) => void;
  /** Resolves once the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;

  constructor(options: ChildProcessTransportOptions) {
    this.options = options;
    this.exited = new Promise((resolve) => {
      this.resolveExited = resolve;
    });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Set once the process has exited. */
  get exit(): ExitInfo | undefined {
    return this.exitInfo;
  }

  onExit(listener: (info: ExitInfo) => void): void {
    if (this.exitInfo !== undefined) listener(this.exitInfo);
    else this.exitListeners.push(listener);
  }

  start(): Promise<void> {
    if (this.child !== undefined) return Promise.reject(new Error("transport already started"));
    return new Promise((resolve, reject) => {
      const child = spawn(this.options.command, [...this.options.args], {
        cwd: this.options.cwd,
        env: this.options.env,
        stdio: ["pipe", "pipe", "pipe"],
        shell: false,
        windowsHide: true,
      });
      this.child = child;
      child.once("spawn", () => {
        trackChild(child);
        resolve();
      });
      child.on("error", (error) => {
        this.onerror?.(error);
        if (child.pid !== undefined) return;
        // A spawn failure ('error' without 'spawn') has no exit event; report it as one.
        this.recordExit({ code: null, signal: null });
        reject(error);
        this.notifyClosed();
      });
      child.once("exit", (code, signal) => {
        liveChildren.delete(child);
        this.recordExit({ code, signal });
        setTimeout(() => this.notifyClosed(), CLOSE_AFTER_EXIT_MS).unref();
      });
      child.once("close", () => this.notifyClosed());
      child.stdin?.on("error", (error) => this.onerror?.(error));
      child.stdout?.on("error", (error) => this.onerror?.(error));
      child.stdout?.on("data", (chunk: Buffer) => this.receive(chunk));
      child.stderr?.on("data", (chunk: Buffer) => this.options.onStderr(chunk));
    });
  }

  private receive(chunk: Buffer): void {
    try {
      this.readBuffer.append(chunk);
    } catch (error) {
      this.onerror?.(error as Error);
      void this.close();
      return;
    }
    for (;;) {
      try {
        const message = this.readBuffer.readMessage();
        if (message === null) return;
        this.onmessage?.(message);
      } catch (error) {
        // A stray non-JSON line on stdout: report it and keep reading.
        this.onerror?.(new Error(`provider wrote a line that is not JSON-RPC to stdout: ${(error as Error).message}`));
      }
    }
  }

  private recordExit(info: ExitInfo): void {
    if (this.exitInfo !== undefined) return;
    this.exitInfo = info;
    this.resolveExited(info);
    for (const listener of this.exitListeners.splice(0)) listener(info);
  }

  private notifyClosed(): void {
    if (this.closedNotified) return;
    this.closedNotified = true;
    this.readBuffer.clear();
    this.onclose?.();
  }

  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (!stdin || !stdin.writable || this.exitInfo !== undefined) {
      return Promise.reject(new Error("provider process is not running"));
    }
    return new Promise((resolve, reject) => {
      const flushed = stdin.write(serializeMessage(message), (error) => {
        if (error) reject(error);
      });
      if (flushed) resolve();
      else stdin.once("drain", () => resolve());
    });
  }

  /** stdin EOF, then SIGTERM, then SIGKILL, each after a grace period; idempotent. */
  close(): Promise<void> {
    this.closing ??= this.terminate();
    return this.closing;
  }

  private async terminate(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.pid === undefined) {
      this.notifyClosed();
      return;
    }
    const grace = this.options.graceMs ?? DEFAULT_GRACE_MS;
    const escalate = async (step: () => void): Promise<boolean> => {
      if (this.exitInfo !== undefined) return true;
      try {
        step();
      } catch {
        // The process may already be gone.
      }
      await Promise.race([this.exited, delay(grace)]);
      return this.exitInfo !== undefined;
    };
    // Each step runs only if the previous one did not end the process.
    void ((await escalate(() => child.stdin?.end())) ||
      (await escalate(() => child.kill("SIGTERM"))) ||
      (await escalate(() => child.kill("SIGKILL"))));
    this.notifyClosed();
  }
}
