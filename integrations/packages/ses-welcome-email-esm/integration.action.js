/**
 * The SES welcome email written as an ES module: the same behaviour as `ses-welcome-email`, with
 * `import` and `export`. The platform rewrites nothing but the exports; line numbers stay yours.
 */
import ses from "actionflow:ses";

export const onExecutePostUserRegistration = async (event) => {
  const client = ses.createClient({
    key: event.secrets.AWS_SES_KEY,
    secret: event.secrets.AWS_SES_SECRET,
    region: event.configuration.AWS_REGION || "us-east-1",
    endpoint: event.configuration.SES_ENDPOINT || undefined,
  });
  const { username, email } = event.user;
  const who = `${username ?? "someone"} (${email})`;
  const { messageId } = await client.sendEmail({
    to: event.configuration.TO_ADDRESS,
    from: event.configuration.FROM_ADDRESS,
    subject: `New registration: ${username ?? email}`,
    message: `<p>Hi, <b>${escape(who)}</b> registered your app.</p>`,
    altText: `Hi, ${who} registered your app.`,
  });
  console.log(`welcome email sent for ${event.user.user_id}: ${messageId}`);
};

function escape(s) {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
