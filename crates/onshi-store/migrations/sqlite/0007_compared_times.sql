-- Times that statements compare are written as fixed-width UTC text with nine fraction digits
-- (onshi-store's `compared_time`), so that text order is time order; sqlx wrote RFC 3339 with as
-- few fraction digits as needed, where '…00Z' sorts after '…00.5Z'. Rewrite the rows written
-- before. Every stored time is UTC ('Z'); a value already fixed-width is left as it is.
UPDATE consents SET
    given_at = substr(given_at, 1, 19) || '.' || substr(CASE WHEN substr(given_at, 20, 1) = '.' THEN substr(given_at, 21, length(given_at) - 21) ELSE '' END || '000000000', 1, 9) || 'Z',
    expires_at = substr(expires_at, 1, 19) || '.' || substr(CASE WHEN substr(expires_at, 20, 1) = '.' THEN substr(expires_at, 21, length(expires_at) - 21) ELSE '' END || '000000000', 1, 9) || 'Z'
WHERE (given_at LIKE '%Z' AND length(given_at) <> 30) OR (expires_at LIKE '%Z' AND length(expires_at) <> 30);
UPDATE challenges SET
    created_at = substr(created_at, 1, 19) || '.' || substr(CASE WHEN substr(created_at, 20, 1) = '.' THEN substr(created_at, 21, length(created_at) - 21) ELSE '' END || '000000000', 1, 9) || 'Z',
    expires_at = substr(expires_at, 1, 19) || '.' || substr(CASE WHEN substr(expires_at, 20, 1) = '.' THEN substr(expires_at, 21, length(expires_at) - 21) ELSE '' END || '000000000', 1, 9) || 'Z',
    used_at = substr(used_at, 1, 19) || '.' || substr(CASE WHEN substr(used_at, 20, 1) = '.' THEN substr(used_at, 21, length(used_at) - 21) ELSE '' END || '000000000', 1, 9) || 'Z'
WHERE (created_at LIKE '%Z' AND length(created_at) <> 30) OR (expires_at LIKE '%Z' AND length(expires_at) <> 30) OR (used_at LIKE '%Z' AND length(used_at) <> 30);
