"""The built-in terminal: single-use tickets (minted by the block, redeemed by
the gateway) and the gateway itself, an ASGI service that bridges the
browser's WebSocket to an SSH session on the learner's lab.

The lab's private key is read and decrypted by the gateway, from the stack's
row; it never reaches the browser, a URL, a log line or a task message.
"""
