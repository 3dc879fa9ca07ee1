db.createCollection("items");
