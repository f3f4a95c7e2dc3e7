import { randomBytes, randomUUID, scrypt, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, length: number) => Promise<Buffer>;
const HASH_BYTES = 32;

/** A shop customer. The password is kept only as a salted scrypt hash. */
export interface User {
  id: string;
  email: string;
  name: string;
}

interface StoredUser extends User {
  salt: Buffer;
  passwordHash: Buffer;
}

/** The shop's user table: in memory here, a database table in a real shop. */
export class UserTable {
  private readonly byEmail = new Map<string, StoredUser>();
  private readonly byIdMap = new Map<string, StoredUser>();

  async add(email: string, name: string, password: string): Promise<User> {
    const salt = randomBytes(16);
    const user: StoredUser = {
      id: randomUUID(),
      email: email.toLowerCase(),
      name,
      salt,
      passwordHash: await scryptAsync(password, salt, HASH_BYTES),
    };
    this.byEmail.set(user.email, user);
    this.byIdMap.set(user.id, user);
    return publicPart(user);
  }

  /** The user whose email and password these are, or undefined (for an unknown email as for a wrong password). */
  async verify(email: string, password: string): Promise<User | undefined> {
    const user = this.byEmail.get(email.toLowerCase());
    // An unknown email costs a hash too, so the answer's timing does not tell which emails have accounts.
    const hash = await scryptAsync(password, user?.salt ?? randomBytes(16), HASH_BYTES);
    return user !== undefined && timingSafeEqual(hash, user.passwordHash) ? publicPart(user) : undefined;
  }

  /** Replaces the password of the user with this id (a new salt, a new hash); false when there is no such user. */
  async setPassword(id: string, password: string): Promise<boolean> {
    const user = this.byIdMap.get(id);
    if (user === undefined) return false;
    const salt = randomBytes(16);
    // Salt and hash change together once the hash is ready: until then the old password still logs in.
    const passwordHash = await scryptAsync(password, salt, HASH_BYTES);
    user.salt = salt;
    user.passwordHash = passwordHash;
    return true;
  }

  byId(id: string): User | undefined {
    const user = this.byIdMap.get(id);
    return user === undefined ? undefined : publicPart(user);
  }
}

/** The demo customer every example shop starts with. */
export const DEMO_USER = { email: "ada@example.com", name: "Ada", password: "correct horse battery staple" };

/** A user table holding the demo customer. */
export async function demoUsers(): Promise<UserTable> {
  const users = new UserTable();
  await users.add(DEMO_USER.email, DEMO_USER.name, DEMO_USER.password);
  return users;
}

function publicPart({ id, email, name }: StoredUser): User {
  return { id, email, name };
}
