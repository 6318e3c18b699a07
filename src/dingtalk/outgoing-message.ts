/** One message the bot sends into a conversation. */
export type OutgoingMessage =
  | { readonly kind: 'markdown'; readonly title: string; readonly text: string }
  | { readonly kind: 'text'; readonly text: string };
