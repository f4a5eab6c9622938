const greeting = "welcome";
export async function onExecutePostLogin(event, api) {
  api.user.setUserMetadata("greeting", `${greeting} ${event.user.name}`);
}
export const helper = 1;
