/**
 * What a store contract suite needs from an adapter: `connect` opens another instance on the same
 * storage (a second connection to the file, another client of the table: what a second process or
 * Lambda would have), and `cleanup` disposes of everything `connect` opened and of the storage itself.
 */
export interface StoreFixture<T> {
  connect: () => T;
  cleanup: () => Promise<void>;
}
