exports.onExecutePostUserRegistration = async (event, api) => {
  console.log(Object.keys(api).join(","));
  const set = api.cache.set("welcome", "sent", { ttl: 60000 });
  console.log(set.type, typeof set.record.expires_at, api.cache.get("welcome").value);
  console.log(JSON.stringify(api.cache.delete("welcome").record.value), api.cache.get("welcome"));
  console.log(api.cache.set("k", "x".repeat(5000)).code);
};
