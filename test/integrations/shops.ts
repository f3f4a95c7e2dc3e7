import { startShop as startExpressShop } from "../../examples/express/server";
import { startShop as startFastifyShop } from "../../examples/fastify/server";
import type { RunningShop, ShopOptions } from "../../examples/shop/options";
import { startShop as startStandaloneShop } from "../../examples/standalone/server";

/** One of the example shops: sessionql inside an Apollo Server of the application's own, on one integration. */
export interface ShopIntegration {
  name: string;
  start(options: ShopOptions): Promise<RunningShop>;
  /** Whether a middleware of the shop's own sets a cookie before Apollo runs (startStandaloneServer has none). */
  middlewareCookie: boolean;
  /** Whether its CORS middleware adds `Vary: Origin` for a listed origin. */
  corsVary: boolean;
}

/** The three integrations of the library, each as its example shop starts it. */
export const SHOP_INTEGRATIONS: ShopIntegration[] = [
  {
    name: "Express 5 (@as-integrations/express5)",
    start: startExpressShop,
    middlewareCookie: true,
    corsVary: true,
  },
  {
    name: "fastify (@as-integrations/fastify)",
    start: startFastifyShop,
    middlewareCookie: true,
    corsVary: true,
  },
  {
    name: "startStandaloneServer",
    start: startStandaloneShop,
    middlewareCookie: false,
    corsVary: false,
  },
];
