const config = await Promise.resolve({ claim: "tier" });
export const onExecutePostLogin = async (event, api) => {
  api.accessToken.setCustomClaim(config.claim, "gold");
};
