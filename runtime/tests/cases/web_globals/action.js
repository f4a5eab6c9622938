exports.onExecutePostLogin = async () => {
  const u = new URL("/path/x?a=1&b=two%20words#frag", "https://user:pw@example.com:8443");
  u.searchParams.append("c", "3");
  console.log(u.href);
  console.log(u.protocol, u.host, u.hostname, u.port, u.pathname, u.search, u.hash, u.origin, u.username);
  console.log([...new URLSearchParams({ q: "a b", n: "1" })].join(";"), new URLSearchParams("x=1&x=2").getAll("x").join(","));
  console.log(btoa("hello"), atob("aGVsbG8="));
  const bytes = new TextEncoder().encode("héllo");
  console.log(bytes.length, new TextDecoder().decode(bytes));
  const id = crypto.randomUUID();
  console.log(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id));
  const rnd = crypto.getRandomValues(new Uint8Array(16));
  console.log(rnd.length, rnd.some((b) => b !== 0));
  const original = { d: new Date(0), m: new Map([[1, 2]]), nested: { a: [1] } };
  const copy = structuredClone(original);
  console.log(copy !== original, copy.d.toISOString(), copy.m.get(1), copy.nested.a[0]);
  try { new URL("nope"); } catch (e) { console.log(e.constructor.name, e.message); }
};
