"""Routes, one module per page. All but `auth` sit behind the signed-in-user dependency."""
