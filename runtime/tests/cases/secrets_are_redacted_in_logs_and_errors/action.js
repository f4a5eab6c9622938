exports.onExecutePostLogin = async (event) => {
  console.log("key is", event.secrets.API_KEY);
  console.error(`token=${event.secrets.TOKEN};`);
  console.log({ nested: { k: event.secrets.API_KEY } });
  throw new Error(`failed with ${event.secrets.TOKEN}`);
};
