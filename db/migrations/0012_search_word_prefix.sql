-- Word starts of a search name (docs/architecture.md, "Search"): the lower-cased name from each
-- place a word starts to its end, at most 200 characters each, as the lexemes of a tsvector. A
-- word starts at the name's start, after any character that is not a letter or digit, and where
-- digits follow a letter: 'ds-prod-123' → 'ds-prod-123' 'prod-123' '123'; '/dev/zvol/rdsk/lun7'
-- → '/dev/zvol/rdsk/lun7' 'dev/zvol/rdsk/lun7' 'zvol/rdsk/lun7' 'rdsk/lun7' 'lun7' '7'. A
-- fragment that starts a word is then a prefix of one of these: a range read of the GIN index
-- below (tsquery 'fragment':*), not a trigram scan.
CREATE FUNCTION "search_name_words"(name text) RETURNS tsvector LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  s text := translate(lower(name), chr(1), ' ');
  -- chr(1) marks each word start; names hold no control characters (the text rule), and any
  -- that came would read as a space.
  pieces text[] := string_to_array(regexp_replace(s, '(^|[^[:alnum:]]|[[:alpha:]](?=[[:digit:]]))(?=[[:alnum:]])', '\1' || chr(1), 'g'), chr(1));
  words text[] := '{}';
  piece text;
  pos int := 1;
BEGIN
  FOREACH piece IN ARRAY pieces LOOP
    IF piece <> '' THEN
      words := words || left(substr(s, pos), 200);
      pos := pos + length(piece);
    END IF;
  END LOOP;
  RETURN array_to_tsvector(words);
END
$$;
--> statement-breakpoint
CREATE INDEX "search_names_words" ON "search_names" USING gin (search_name_words("name")) WITH (fastupdate = off);
