/**
 * The page's keys and pins in IndexedDB (database "sealcam-viewer", object store "kv"): the identity's two
 * non-extractable CryptoKeys and public point, the pinned account (root certificate, roster version) and each
 * accepted share with its non-extractable stream CryptoKey. IndexedDB stores CryptoKey objects as they are
 * (structured clone), so no key is ever exported to be stored.
 */
import type { HeldShare, Identity, PinnedAccount, ViewerStore } from "../core";

const DB_NAME = "sealcam-viewer";
const STORE = "kv";

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error("IndexedDB request failed"));
  });
}

export class IdbStore implements ViewerStore {
  #db: Promise<IDBDatabase> | undefined;

  #open(): Promise<IDBDatabase> {
    this.#db ??= new Promise((resolve, reject) => {
      const r = indexedDB.open(DB_NAME, 1);
      r.onupgradeneeded = () => r.result.createObjectStore(STORE);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error ?? new Error("cannot open IndexedDB (is this a private window that forbids it?)"));
    });
    return this.#db;
  }

  async #get<T>(key: string): Promise<T | undefined> {
    const db = await this.#open();
    return (await request(db.transaction(STORE, "readonly").objectStore(STORE).get(key))) as T | undefined;
  }

  async #put(key: string, value: unknown): Promise<void> {
    const db = await this.#open();
    const tx = db.transaction(STORE, "readwrite");
    tx.objectStore(STORE).put(value, key);
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error ?? new Error("IndexedDB write failed"));
      tx.onabort = () => reject(tx.error ?? new Error("IndexedDB write aborted"));
    });
  }

  identity(): Promise<Identity | undefined> {
    return this.#get<Identity>("identity");
  }
  saveIdentity(identity: Identity): Promise<void> {
    return this.#put("identity", identity);
  }
  account(): Promise<PinnedAccount | undefined> {
    return this.#get<PinnedAccount>("account");
  }
  saveAccount(account: PinnedAccount): Promise<void> {
    return this.#put("account", account);
  }
  async shares(): Promise<HeldShare[]> {
    return (await this.#get<HeldShare[]>("shares")) ?? [];
  }
  async saveShare(share: HeldShare): Promise<void> {
    const shares = await this.shares();
    await this.#put("shares", [...shares.filter((s) => !(s.shareId === share.shareId && s.accountId === share.accountId)), share]);
  }
}
