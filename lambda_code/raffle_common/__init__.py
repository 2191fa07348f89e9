"""Shared code of the raffle functions: HTTP responses, request parsing, the entries store.

Data model (one table, partition key `email`):
- one item per entry: {email, ticket, name?, entered_at}
- one item per ticket: {email: "ticket#<n>", owner: <email>} — a lookup by number
- one counter item: {email: "#counter", entries: n}
- once drawn, the winner: {email: "#winner", winner: <email>, ticket, drawn_at}; written
  once with a condition, and its absence is a condition of every entry's transaction
Tickets are gapless 1..n: an entry, its ticket item and the counter move together in one
conditional transaction, so count and draw read O(1) items and never scan.
"""
