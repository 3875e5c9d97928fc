// What Tierwise shows in VS Code, as the e2e tests find it. One place to update when the UI changes.

/** Status bar item id as created by the extension; VS Code prefixes the element id with the extension id. */
export const spendStatusBarItemId = 'tierwise.spend';
/** The meter's text with nothing spent ("$(pulse) $0.00 today", or "… / $cap" with a daily cap). */
export const spendMeterNothingSpentPattern = /\$0\.00/;
/** The meter's accessible name says whose meter it is, since its text is just an amount. */
export const spendMeterLabelPattern = /Tierwise/;
export const openSpendViewCommandTitle = 'Tierwise: Open Spend & Routing';
export const spendViewTestId = 'spend-view';
export const outputChannelName = 'Tierwise';
/** The line activate() logs last; group 1 is the activation time in milliseconds. */
export const activationLinePattern = /activated in (\d+(?:\.\d+)?) ms/;
/** What the extension host logs when activate() throws or rejects: the notice and the error line after it. */
export const activationFailurePattern = /^.*Activating extension '?tierwise\.tierwise'? failed.*\n.*$/im;
