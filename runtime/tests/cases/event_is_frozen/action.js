"use strict";
exports.onExecutePostLogin = async (event, api) => {
  console.log(Object.isFrozen(event), Object.isFrozen(event.user), Object.isFrozen(event.secrets));
  try { event.user.email = "evil@example.com"; } catch (e) { console.log(e.constructor.name); }
  try { event.secrets.X = "y"; } catch (e) { console.log(e.constructor.name); }
  try { event.user.app_metadata.roles.push("admin"); } catch (e) { console.log(e.constructor.name); }
  console.log(event.user.email, event.secrets.S);
};
