import type { IncomingMessage } from "node:http";
import { GraphQLError } from "graphql";
import type { SessionContext, Sessions } from "sessionql";
import { cookieValue } from "./options";
import type { User, UserTable } from "./users";

/** The shop's own schema, served beside sessionql's session operations. */
export const shopTypeDefs = /* GraphQL */ `
  type Product {
    id: ID!
    name: String!
    priceCents: Int!
  }
  type CartLine {
    product: Product!
    quantity: Int!
  }
  type Cart {
    lines: [CartLine!]!
    totalCents: Int!
    """The currency prices are shown in, kept in a cookie of the shop's own."""
    currency: String!
  }
  type Customer {
    email: String!
    name: String!
    """When this session logged in: kept under a private key, so no browser can backdate it."""
    loggedInAt: String
  }
  type Query {
    products: [Product!]!
    cart: Cart!
    """The logged-in customer, or null."""
    me: Customer
  }
  type Mutation {
    addToCart(productId: ID!, quantity: Int! = 1): Cart!
    """Logs in: a new session key (against session fixation), the session recorded under the customer."""
    login(email: String!, password: String!): Customer!
    """Logs out: the session and its cart are gone."""
    logout: Boolean!
    """Changes the logged-in customer's password and ends every other session of theirs; how many ended."""
    changePassword(currentPassword: String!, newPassword: String!): Int!
    """Sets the shop's own currency cookie, written by the web framework beside the session cookie."""
    setCurrency(code: String!): Cart!
  }
  type Subscription {
    """The cart after each change of the session, from any tab or instance; ends when the session does."""
    cartChanged: Cart!
  }
`;

/** What the shop's resolvers get: sessionql's `session`, the user table, and the framework's cookie call. */
export interface ShopContext extends SessionContext {
  users: UserTable;
  /** sessionql's server-side calls, for ending a customer's other sessions on a password change. */
  sessions: Pick<Sessions, "revokeUserSessions">;
  /** The currency cookie the request carried, if any. */
  currency: string | undefined;
  /** Sets a cookie of the shop's own on the response, with the web framework's own API. */
  setCookie(name: string, value: string): void;
}

const PRODUCTS = [
  { id: "tea", name: "Earl Grey, 100 g", priceCents: 650 },
  { id: "mug", name: "Enamel mug", priceCents: 1200 },
  { id: "pot", name: "Teapot", priceCents: 3400 },
];
const CURRENCIES = new Set(["EUR", "GBP", "USD"]);
/** The cart is public (the SPA may show it through `session`); the login time is private (underscore prefix). */
const CART = "cart";
const LOGIN_AT = "_loginAt";
/** How long a new password may be: the lower bound against guessing, the upper one keeps a scrypt call cheap. */
const PASSWORD_LENGTH = { min: 8, max: 1024 };

type CartEntries = Record<string, number>;

/** The shop's resolvers: the cart and the login live in `context.session`. */
export const shopResolvers = {
  Query: {
    products: () => PRODUCTS,
    cart: async (_: unknown, __: unknown, context: ShopContext) => cartOf(context),
    me: async (_: unknown, __: unknown, context: ShopContext): Promise<User | null> =>
      (await loggedInUser(context)) ?? null,
  },
  Customer: {
    loggedInAt: async (_: User, __: unknown, { session }: ShopContext) =>
      (await session.get(LOGIN_AT)) as string | null,
  },
  Mutation: {
    addToCart: async (
      _: unknown,
      { productId, quantity }: { productId: string; quantity: number },
      context: ShopContext,
    ) => {
      if (!PRODUCTS.some((product) => product.id === productId)) {
        throw new GraphQLError(`no product "${productId}"`, { extensions: { code: "BAD_USER_INPUT" } });
      }
      if (quantity < 1 || quantity > 99) {
        throw new GraphQLError("quantity must be 1–99", { extensions: { code: "BAD_USER_INPUT" } });
      }
      // Read and write in one save: a parallel addToCart from another tab is re-applied, not lost.
      await context.session.modify((draft) => {
        const cart = (draft.get(CART, {}) ?? {}) as CartEntries;
        draft.set(CART, { ...cart, [productId]: (cart[productId] ?? 0) + quantity });
      });
      return cartOf(context);
    },
    login: async (
      _: unknown,
      { email, password }: { email: string; password: string },
      { session, users }: ShopContext,
    ) => {
      const user = await users.verify(email, password);
      if (user === undefined) {
        throw new GraphQLError("wrong email or password", { extensions: { code: "UNAUTHENTICATED" } });
      }
      // Django's login(): a new key, so a session id planted before the login is worth nothing after it, and the
      // session recorded under the user, so that the user's devices list it and a password change ends it.
      await session.login(user.id);
      await session.set(LOGIN_AT, new Date().toISOString());
      return user;
    },
    logout: async (_: unknown, __: unknown, { session }: ShopContext) => {
      await session.logout();
      return true;
    },
    changePassword: async (
      _: unknown,
      { currentPassword, newPassword }: { currentPassword: string; newPassword: string },
      context: ShopContext,
    ) => {
      const user = await loggedInUser(context);
      if (user === undefined) {
        throw new GraphQLError("not logged in", { extensions: { code: "UNAUTHENTICATED" } });
      }
      // The current password again: a session left open on a shared computer must not be enough to take over.
      if ((await context.users.verify(user.email, currentPassword)) === undefined) {
        throw new GraphQLError("wrong password", { extensions: { code: "UNAUTHENTICATED" } });
      }
      if (newPassword.length < PASSWORD_LENGTH.min || newPassword.length > PASSWORD_LENGTH.max) {
        throw new GraphQLError(
          `newPassword must be ${PASSWORD_LENGTH.min}–${PASSWORD_LENGTH.max} characters, got ${newPassword.length}`,
          { extensions: { code: "BAD_USER_INPUT" } },
        );
      }
      await context.users.setPassword(user.id, newPassword);
      // Whoever logged in with the old password elsewhere is logged out; this session stays, as Django's
      // update_session_auth_hash() keeps it.
      const current = await context.session.id();
      return context.sessions.revokeUserSessions(user.id, { except: current ?? [] });
    },
    setCurrency: async (_: unknown, { code }: { code: string }, context: ShopContext) => {
      if (!CURRENCIES.has(code)) {
        throw new GraphQLError(`currency must be one of ${[...CURRENCIES].join(", ")}`, {
          extensions: { code: "BAD_USER_INPUT" },
        });
      }
      context.setCookie("currency", code);
      return cartOf({ ...context, currency: code });
    },
  },
  Subscription: {
    cartChanged: {
      // sessionql follows the session of the WebSocket's cookie; each value shows its new state.
      subscribe: (_: unknown, __: unknown, context: ShopContext) => context.session.changes(),
      resolve: (changed: SessionContext, _: unknown, context: ShopContext) =>
        cartOf({ ...context, session: changed.session }),
    },
  },
};

/** The shop's context over a WebSocket: the upgrade request's session and cookies; no cookie can be set there. */
export function shopSocketContext(
  sessions: Sessions,
  users: UserTable,
  { req, connectionParams }: { req: IncomingMessage; connectionParams?: Readonly<Record<string, unknown>> },
): ShopContext {
  return {
    ...sessions.context({ req, connectionParams }),
    users,
    sessions,
    currency: cookieValue(req.headers.cookie, "currency"),
    setCookie: () => {
      throw new GraphQLError("cookies are set over HTTP only", { extensions: { code: "BAD_REQUEST" } });
    },
  };
}

/** The customer the session is logged in as, if any (a deleted user's session counts as logged out). */
async function loggedInUser({ session, users }: ShopContext): Promise<User | undefined> {
  const id = await session.userId();
  return id === null ? undefined : users.byId(id);
}

async function cartOf({ session, currency }: ShopContext) {
  const cart = ((await session.get(CART, {})) ?? {}) as CartEntries;
  const lines = PRODUCTS.filter((product) => cart[product.id] !== undefined).map((product) => ({
    product,
    quantity: cart[product.id] as number,
  }));
  return {
    lines,
    totalCents: lines.reduce((sum, line) => sum + line.product.priceCents * line.quantity, 0),
    currency: currency ?? "EUR",
  };
}
