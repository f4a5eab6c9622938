const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
exports.onExecutePostLogin = async (event, api) => {
  setTimeout(() => console.log("c"), 30);
  setTimeout((x) => console.log(x), 10, "b");
  console.log("a");
  const cancelled = setTimeout(() => console.log("never"), 5);
  clearTimeout(cancelled);
  let ticks = 0;
  await new Promise((resolve) => {
    const id = setInterval(() => { ticks++; if (ticks === 3) { clearInterval(id); resolve(); } }, 1);
  });
  await sleep(40);
  queueMicrotask(() => console.log("micro"));
  await Promise.all([sleep(1), sleep(2)]);
  console.log(`ticks ${ticks}`);
};
