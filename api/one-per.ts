/**
 * State a process keeps for each store, database or catalog it serves (a cache of chunks, a
 * gate): one value per key object, made on first use and dropped with the key.
 */
export function onePer<K extends object, V>(make: (key: K) => V): (key: K) => V {
  const made = new WeakMap<K, V>();
  return (key) => {
    let value = made.get(key);
    if (value === undefined) {
      value = make(key);
      made.set(key, value);
    }
    return value;
  };
}
