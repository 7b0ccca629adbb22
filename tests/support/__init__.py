"""What tests share: API clients and actors, factories, scenes, the database's tables, a WebSocket client."""
