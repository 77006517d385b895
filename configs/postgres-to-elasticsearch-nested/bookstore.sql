-- The bookstore of docs/quickstart-nested.md: books with their publisher, authors (through book_author) and reviews.
CREATE TABLE publisher (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE author (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE book (
    id serial PRIMARY KEY,
    isbn text NOT NULL UNIQUE,
    title text NOT NULL,
    published date,
    publisher_id integer REFERENCES publisher (id)
);
CREATE TABLE book_author (
    id serial PRIMARY KEY,
    book_id integer NOT NULL REFERENCES book (id) ON DELETE CASCADE,
    author_id integer NOT NULL REFERENCES author (id) ON DELETE CASCADE
);
CREATE TABLE review (id serial PRIMARY KEY, book_id integer NOT NULL, rating integer NOT NULL, body text);

INSERT INTO publisher (name) SELECT 'publisher ' || g FROM generate_series(1, 50) g;
INSERT INTO author (name) SELECT 'author ' || g FROM generate_series(1, 200) g;
INSERT INTO book (isbn, title, published, publisher_id)
SELECT 'isbn-' || g, 'book ' || g, date '2000-01-01' + g, 1 + g % 50 FROM generate_series(1, 1000) g;
INSERT INTO book_author (book_id, author_id)
SELECT g, 1 + (g * 7 + k) % 200 FROM generate_series(1, 1000) g, generate_series(0, 1) k;
INSERT INTO review (book_id, rating, body) SELECT 1 + g % 1000, 1 + g % 5, 'review ' || g FROM generate_series(1, 3000) g;
