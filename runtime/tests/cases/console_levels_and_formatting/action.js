exports.onExecutePostLogin = async () => {
  console.info("info %s=%d", "n", 42);
  console.warn("warn", [1, "two", { three: 3 }]);
  console.error(new TypeError("bad"));
  console.debug("debug", null, undefined, true, 1.5, 10n);
  console.log("%j", { a: 1 });
  const circular = { name: "c" }; circular.self = circular;
  console.log(circular);
};
