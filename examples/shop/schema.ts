import { GraphQLError } from "graphql";
import type { SessionContext } from "sessionql";
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
  }
  type Query {
    products: [Product!]!
    cart: Cart!
    """The logged-in customer, or null."""
    me: Customer
  }
  type Mutation {
    addToCart(productId: ID!, quantity: Int! = 1): Cart!
    """Logs in: a new session key (against session fixation), and the customer's id under a private key."""
    login(email: String!, password: String!): Customer!
    """Logs out: the session and its cart are gone."""
    logout: Boolean!
    """Sets the shop's own currency cookie, written by the web framework beside the session cookie."""
    setCurrency(code: String!): Cart!
  }
`;

/** What the shop's resolvers get: sessionql's `session`, the user table, and the framework's cookie call. */
export interface ShopContext extends SessionContext {
  users: UserTable;
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
/** The cart is public (the SPA may show it through `session`); the user id is private (underscore prefix). */
const CART = "cart";
const USER_ID = "_userId";

type CartEntries = Record<string, number>;

/** The shop's resolvers: the cart and the login live in `context.session`. */
export const shopResolvers = {
  Query: {
    products: () => PRODUCTS,
    cart: async (_: unknown, __: unknown, context: ShopContext) => cartOf(context),
    me: async (_: unknown, __: unknown, { session, users }: ShopContext): Promise<User | null> => {
      const id = (await session.get(USER_ID)) as string | null;
      return (id !== null && users.byId(id)) || null;
    },
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
      // As Django's login(): a new key, so a session id planted before the login is worth nothing after it.
      await session.cycleKey();
      await session.set(USER_ID, user.id);
      return user;
    },
    logout: async (_: unknown, __: unknown, { session }: ShopContext) => {
      await session.flush();
      return true;
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
};

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
