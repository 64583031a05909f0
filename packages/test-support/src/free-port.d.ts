/** A TCP port on 127.0.0.1 that was free a moment ago (the kernel's choice for port 0); callers retry on a lost race. */
export declare function freePort(): Promise<number>;
