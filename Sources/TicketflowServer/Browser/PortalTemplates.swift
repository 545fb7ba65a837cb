import HTTPTypes
/// The portal's and the sign-in page's templates. Every value is written with `{{…}}`, which
/// HTML-escapes it; values inside attributes are always quoted.
enum PortalTemplates {
    static let login = """
    {{> head}}
    <h1>Sign in to Ticketflow</h1>
    {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
    <form class="stack" method="post" action="/login">
      <input type="hidden" name="csrf" value="{{formToken}}">
      <input type="hidden" name="next" value="{{next}}">
      <label for="email">E-mail</label><input type="email" id="email" name="email" value="{{email}}" required autocomplete="username">
      <label for="password">Password</label><input type="password" id="password" name="password" required autocomplete="current-password">
      <button type="submit" id="sign-in">Sign in</button>
    </form>
    {{> foot}}
    """

    static let home = """
    {{> head}}
    <h1>My tickets</h1>
    <p><a href="/portal/new">Open a ticket</a></p>
    {{^hasTickets}}<p class="muted">You have no tickets yet.</p>{{/hasTickets}}
    {{#hasTickets}}<table id="tickets"><tr><th>#</th><th>subject</th><th>status</th><th>updated</th></tr>
    {{#tickets}}<tr><td>{{id}}</td><td><a href="/portal/tickets/{{id}}">{{subject}}</a></td><td>{{status}}</td><td>{{updated}}</td></tr>{{/tickets}}
    </table>{{/hasTickets}}
    {{> foot}}
    """

    static let newTicket = """
    {{> head}}
    <h1>Open a ticket</h1>
    {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
    <form class="stack" method="post" action="/portal/tickets">
      <input type="hidden" name="csrf" value="{{csrf}}">
      <label for="subject">Subject</label><input type="text" id="subject" name="subject" required maxlength="1000">
      <label for="description">Description</label><textarea id="description" name="description" maxlength="60000"></textarea>
      <label for="priority">Priority</label>
      <select id="priority" name="priority">{{#priorities}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/priorities}}</select>
      {{#fields}}<label for="field-{{name}}">{{name}}</label><input type="text" id="field-{{name}}" name="field.{{name}}" maxlength="1000">{{/fields}}
      <button type="submit" id="open">Open the ticket</button>
    </form>
    <p><a href="/portal">Back to my tickets</a></p>
    {{> foot}}
    """

    static let ticket = """
    {{> head}}
    <p><a href="/portal">My tickets</a></p>
    <h1 id="subject">#{{ticket.id}} {{ticket.subject}}</h1>
    <p>Status: <strong id="status">{{ticket.status}}</strong>{{#ticket.assignedTo}} · handled by {{ticket.assignedTo}}{{/ticket.assignedTo}}</p>
    <div class="body" id="description">{{ticket.description}}</div>
    {{#fields}}<p class="field"><span class="muted">{{name}}:</span> {{value}}</p>{{/fields}}
    <h2>Conversation</h2>
    {{^comments}}<p class="muted">No replies yet.</p>{{/comments}}
    {{#comments}}<div class="comment {{from}}"><div class="muted">{{authorName}} · {{at}}</div><div class="body">{{body}}</div></div>{{/comments}}
    {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
    <form class="stack" method="post" action="/portal/tickets/{{ticket.id}}/reply">
      <input type="hidden" name="csrf" value="{{csrf}}">
      <label for="reply">Reply</label><textarea id="reply" name="body" required maxlength="60000"></textarea>
      <button type="submit" id="send-reply">Send reply</button>
    </form>
    {{#canReopen}}<form class="inline" method="post" action="/portal/tickets/{{ticket.id}}/reopen"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" id="reopen">Reopen</button></form>{{/canReopen}}
    {{#canRate}}
    <h2>How did we do?</h2>
    <form class="stack" method="post" action="/portal/tickets/{{ticket.id}}/rate">
      <input type="hidden" name="csrf" value="{{csrf}}">
      <label class="inline"><input type="radio" name="rating" value="good" required> Good</label>
      <label class="inline"><input type="radio" name="rating" value="bad"> Bad</label>
      <label for="rating-comment">Comment (optional)</label><textarea id="rating-comment" name="comment" maxlength="2000"></textarea>
      <button type="submit" id="rate">Send rating</button>
    </form>
    {{/canRate}}
    {{#rating}}<p id="rating">Your rating: {{rating}}</p>{{/rating}}
    {{> foot}}
    """

    static let message = """
    {{> head}}
    <h1>{{heading}}</h1>
    <p>{{text}}</p>
    <p><a href="{{link}}">{{linkText}}</a></p>
    {{> foot}}
    """
}
