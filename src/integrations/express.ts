import type { IncomingMessage } from "node:http";
import { NodeHttpExchange } from "./node-http";

/** The parts of Express 5's request that decide the client address and protocol. */
interface ExpressRequestParts {
  ip?: string;
  secure?: boolean;
  app?: unknown;
}

/**
 * An Express 5 request and response: Node's, plus Express's `req.ip` and `req.secure`, which follow the
 * application's `trust proxy` setting.
 */
export class ExpressExchange extends NodeHttpExchange {
  /** Whether `req` was handed over by Express (it sets `req.app` on every request it routes). */
  static handles(req: IncomingMessage): boolean {
    return (req as IncomingMessage & ExpressRequestParts).app !== undefined;
  }

  override clientAddress(): string {
    return (this.req as IncomingMessage & ExpressRequestParts).ip ?? super.clientAddress();
  }

  override isHttps(): boolean {
    return (this.req as IncomingMessage & ExpressRequestParts).secure ?? super.isHttps();
  }
}
